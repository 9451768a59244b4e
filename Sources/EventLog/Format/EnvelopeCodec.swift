/// Encodes envelopes into their binary header form and parses them back without copying (see `Format`).
public enum EnvelopeCodec {
    static func stringSize(_ n: Int) -> Int { (n < 0x80 ? 1 : n < 0x4000 ? 2 : 3) + n }

    /// Exact encoded size of a draft's envelope.
    public static func encodedSize(_ d: EventDraft) -> Int {
        var n = Format.envelopeFixedSize
        n += EnvelopeValidation.isLowercaseHex32(d.eventID) ? 16 : stringSize(d.eventID.utf8.count)
        n += stringSize(d.type.utf8.count) + stringSize(d.stream.utf8.count)
        for k in d.keys { n += stringSize(k.utf8.count) }
        n += stringSize(d.actor.utf8.count) + stringSize(d.correlationID.utf8.count)
        n += stringSize(d.causationID.utf8.count) + stringSize(d.occurredAt.utf8.count)
        n += stringSize(d.provenance.utf8.count)
        return n
    }

    /// Appends the envelope of `d`. The draft must have passed `EnvelopeValidation.validate`.
    public static func encode(
        _ d: EventDraft, hlc: UInt64, recordedAt: Int64, region: UInt8, into w: inout ByteWriter
    ) {
        let start = w.count
        let hexID = EnvelopeValidation.isLowercaseHex32(d.eventID)
        precondition(d.keys.count <= Limits.maxKeys)
        w.u16(0)  // patched below
        w.u8(d.flags)
        w.u8(UInt8(d.keys.count) | (hexID ? Format.hexEventIDBit : 0))
        w.u16(d.typeVersion)
        w.u8(region)
        w.u8(0)
        w.u64(hlc)
        w.i64(recordedAt)
        w.u32(UInt32(d.payload.count))
        if hexID {
            w.raw(bytesFromHex(d.eventID)!)
        } else {
            w.string(d.eventID)
        }
        w.string(d.type)
        w.string(d.stream)
        for k in d.keys { w.string(k) }
        w.string(d.actor)
        w.string(d.correlationID)
        w.string(d.causationID)
        w.string(d.occurredAt)
        w.string(d.provenance)
        let length = w.count - start
        precondition(length <= Int(UInt16.max), "envelope of \(length) bytes")
        w.patchU16(UInt16(length), at: start)
    }
}

/// A parsed envelope: fixed fields plus the byte ranges of its strings within the region buffer.
/// Valid only while the buffer it was parsed from is alive (used inside read closures).
public struct EnvelopeView {
    /// Offset of this envelope in its region buffer.
    public var start: Int
    public var length: Int
    public var flags: UInt8
    public var keyCount: Int
    public var hexEventID: Bool
    public var typeVersion: UInt16
    public var region: Int
    public var hlc: UInt64
    public var recordedAt: Int64
    public var payloadLength: Int
    /// event id, type, stream, key0…key3, actor, correlation, causation, occurred at, provenance.
    public var ranges:
        (
            Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>,
            Range<Int>, Range<Int>, Range<Int>, Range<Int>
        )

    /// Parses the envelope at `offset` in `buffer`, checking every length against the buffer and the limits.
    @inline(__always)
    public static func parse(_ buffer: UnsafeRawBufferPointer, at offset: Int, base: Int = 0)
        throws(DecodeFailure) -> EnvelopeView
    {
        // The hot path of every read: one bounds check for the fixed part, then each string bounded by the
        // envelope's own end. Errors name the field and the offset.
        guard offset >= 0, buffer.count - offset >= Format.envelopeFixedSize, let basePointer = buffer.baseAddress
        else {
            throw DecodeFailure(field: "envelope", offset: base + offset, reason: "fewer than 28 bytes remain")
        }
        let p = basePointer + offset
        let length = Int(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
        guard length >= Format.envelopeFixedSize, length <= buffer.count - offset else {
            throw DecodeFailure(
                field: "envelope length", offset: base + offset,
                reason: "\(length) is outside [\(Format.envelopeFixedSize), \(buffer.count - offset)]")
        }
        let flags = p.load(fromByteOffset: 2, as: UInt8.self)
        let kc = p.load(fromByteOffset: 3, as: UInt8.self)
        let keyCount = Int(kc & Format.keyCountMask)
        guard kc & ~(Format.keyCountMask | Format.hexEventIDBit) == 0, keyCount <= Limits.maxKeys else {
            throw DecodeFailure(field: "key count", offset: base + offset + 3, reason: "invalid value \(kc)")
        }
        let typeVersion = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        let region = Int(p.load(fromByteOffset: 6, as: UInt8.self))
        let hlc = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let recordedAt = Int64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: Int64.self))
        let payloadLength = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        guard payloadLength <= Limits.maxEventBytes else {
            throw DecodeFailure(field: "payload length", offset: base + offset + 24, reason: "\(payloadLength) > 1 MiB")
        }
        let end = offset + length
        var at = offset + Format.envelopeFixedSize
        var failed: (String, Int)?
        /// A LEB128 length (1 or 2 bytes: every limit is below 16384) and that many bytes, within the envelope.
        @inline(__always) func string(_ field: String, _ maxLength: Int) -> Range<Int> {
            guard failed == nil, at < end else {
                if failed == nil { failed = (field, at) }
                return end..<end
            }
            var n = Int(basePointer.load(fromByteOffset: at, as: UInt8.self))
            at += 1
            if n >= 0x80 {
                guard at < end else {
                    failed = (field, at)
                    return end..<end
                }
                let b = Int(basePointer.load(fromByteOffset: at, as: UInt8.self))
                at += 1
                guard b < 0x80 else {
                    failed = (field, at - 1)
                    return end..<end
                }
                n = (n & 0x7F) | b << 7
            }
            guard n <= maxLength, n <= end - at else {
                failed = (field, at)
                return end..<end
            }
            defer { at += n }
            return at..<at + n
        }
        let id: Range<Int>
        if kc & Format.hexEventIDBit != 0 {
            if end - at >= 16 {
                id = at..<at + 16
                at += 16
            } else {
                failed = ("event id", at)
                id = end..<end
            }
        } else {
            id = string("event id", Limits.maxIDLength)
        }
        let type = string("type", Limits.maxTypeLength)
        let stream = string("stream", Limits.maxStreamLength)
        let none = end..<end
        let k0 = keyCount > 0 ? string("key", Limits.maxStreamLength) : none
        let k1 = keyCount > 1 ? string("key", Limits.maxStreamLength) : none
        let k2 = keyCount > 2 ? string("key", Limits.maxStreamLength) : none
        let k3 = keyCount > 3 ? string("key", Limits.maxStreamLength) : none
        let actor = string("actor", Limits.maxShortFieldLength)
        let corr = string("correlation id", Limits.maxShortFieldLength)
        let caus = string("causation id", Limits.maxShortFieldLength)
        let occ = string("occurred at", Limits.maxShortFieldLength)
        let prov = string("provenance", Limits.maxProvenanceLength)
        if let (field, where_) = failed {
            throw DecodeFailure(
                field: field, offset: base + where_, reason: "length runs past the envelope or its limit")
        }
        guard at == end, id.count > 0, type.count > 0 else {
            throw DecodeFailure(
                field: "envelope", offset: base + offset,
                reason: at != end ? "fields end at \(at - offset), length says \(length)" : "empty id or type")
        }
        return EnvelopeView(
            start: offset, length: length, flags: flags, keyCount: keyCount, hexEventID: kc & Format.hexEventIDBit != 0,
            typeVersion: typeVersion, region: region, hlc: hlc, recordedAt: recordedAt,
            payloadLength: payloadLength,
            ranges: (id, type, stream, k0, k1, k2, k3, actor, corr, caus, occ, prov))
    }

    @inline(__always)
    public static func text(_ buffer: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: buffer[r]), as: UTF8.self)
    }

    public func eventID(in buffer: UnsafeRawBufferPointer) -> String {
        hexEventID ? hexString(UnsafeRawBufferPointer(rebasing: buffer[ranges.0])) : Self.text(buffer, ranges.0)
    }

    /// Compares the stored stream with `name` without allocating.
    @inline(__always)
    public func streamEquals(_ name: UnsafeRawBufferPointer, in buffer: UnsafeRawBufferPointer) -> Bool {
        let r = ranges.2
        guard r.count == name.count else { return false }
        guard r.count > 0 else { return true }
        return memcmp(buffer.baseAddress! + r.lowerBound, name.baseAddress!, r.count) == 0
    }

    /// The envelope's own bytes within its region buffer.
    public func bytes(in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[start..<start + length])
    }

    public func keyRanges() -> [Range<Int>] {
        [ranges.3, ranges.4, ranges.5, ranges.6].prefix(keyCount).map { $0 }
    }

    /// Stream and keys: every name this event is indexed under.
    public func indexNames(in buffer: UnsafeRawBufferPointer) -> [String] {
        var names: [String] = []
        if !ranges.2.isEmpty { names.append(Self.text(buffer, ranges.2)) }
        for k in keyRanges() { names.append(Self.text(buffer, k)) }
        return names
    }

    /// Builds the full draft (allocates strings; the payload bytes are given by the caller).
    public func draft(in buffer: UnsafeRawBufferPointer, team: String, payload: [UInt8]) -> EventDraft {
        EventDraft(
            eventID: eventID(in: buffer), type: Self.text(buffer, ranges.1), typeVersion: typeVersion,
            stream: Self.text(buffer, ranges.2), keys: keyRanges().map { Self.text(buffer, $0) },
            actor: Self.text(buffer, ranges.7), team: team, correlationID: Self.text(buffer, ranges.8),
            causationID: Self.text(buffer, ranges.9), occurredAt: Self.text(buffer, ranges.10),
            provenance: Self.text(buffer, ranges.11), flags: flags, payload: payload)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
