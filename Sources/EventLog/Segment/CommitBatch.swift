/// A commit batch of an `.open` segment: the unit of append, checksum and torn-write detection.
public enum CommitBatch {
    /// Groups payloads by team, in order of first appearance; returns region index per event and the teams.
    static func regions(of drafts: [EventDraft]) throws(EventLogError) -> (index: [UInt8], teams: [String]) {
        var teams: [String] = []
        var lookup: [String: UInt8] = [:]
        var index: [UInt8] = []
        index.reserveCapacity(drafts.count)
        for k in drafts.indices {
            let team = drafts[k].team
            if let last = teams.last, last == team {
                index.append(UInt8(teams.count - 1))
            } else if let i = lookup[team] {
                index.append(i)
            } else {
                guard teams.count < 256 else {
                    throw EventLogError(.invalidInput, "a batch may hold events of at most 256 teams")
                }
                let i = UInt8(teams.count)
                lookup[team] = i
                teams.append(team)
                index.append(i)
            }
        }
        return (index, teams)
    }

    /// Encodes a batch whose first event gets `firstLSN`, with clocks `hlcs[i]`, padded to 8 bytes.
    /// Also returns the encoded envelope of each event's position (for the open-segment index).
    /// In a segment with encrypted regions (`coding.flagged`), each payload region is stored in its coded form
    /// (mode byte, and its encryption for a team with a key) and the descriptors count the stored bytes.
    public static func encode(
        _ drafts: [EventDraft], firstLSN: UInt64, hlcs: [UInt64], recordedAt: Int64, coding: RegionCoding? = nil
    ) throws(EventLogError) -> [UInt8] {
        precondition(!drafts.isEmpty && hlcs.count == drafts.count)
        let (regionOf, teams) = try regions(of: drafts)
        var payloadBytes = [Int](repeating: 0, count: teams.count)
        var envelopeBytes = 0
        for i in drafts.indices {
            payloadBytes[Int(regionOf[i])] += drafts[i].payload.count
            envelopeBytes += EnvelopeCodec.encodedSize(drafts[i])
        }
        // Coded regions are built first: their stored length is known only after encryption decided the mode.
        var coded: [[UInt8]]?
        if let coding, coding.flagged {
            var stored: [[UInt8]] = []
            for (r, team) in teams.enumerated() {
                var plain: [UInt8] = []
                plain.reserveCapacity(payloadBytes[r])
                for i in drafts.indices where Int(regionOf[i]) == r { plain += drafts[i].payload }
                var out: [UInt8] = []
                out.reserveCapacity(plain.count + Format.RegionMode.encryptedOverhead)
                try plain.withBytes { (p) throws(EventLogError) in
                    try coding.encode(p, firstLSN: firstLSN, region: r, team: team, into: &out)
                }
                payloadBytes[r] = out.count
                stored.append(out)
            }
            coded = stored
        }
        let tableBytes = teams.reduce(0) { $0 + 5 + $1.utf8.count }
        let content = Format.batchHeaderSize + tableBytes + envelopeBytes + payloadBytes.reduce(0, +)
        // The length covers the zero padding too, so the checksum protects every byte of the file.
        let length = content + padding(content)
        var w = ByteWriter(capacity: length)
        w.u32(Format.batchMagic)
        w.u32(UInt32(length))
        w.u64(0)  // checksum, patched
        w.u64(firstLSN)
        w.u32(UInt32(drafts.count))
        w.u32(0)
        w.u64(hlcs.first!)
        w.u64(hlcs.last!)
        w.u32(UInt32(envelopeBytes))
        w.u16(UInt16(teams.count))
        w.u16(0)
        for (r, team) in teams.enumerated() {
            w.u32(UInt32(payloadBytes[r]))
            w.u8(UInt8(team.utf8.count))
            w.raw(team.utf8)
        }
        for i in drafts.indices {
            EnvelopeCodec.encode(drafts[i], hlc: hlcs[i], recordedAt: recordedAt, region: regionOf[i], into: &w)
        }
        if let coded {
            for region in coded { w.raw(region) }
        } else {
            for r in teams.indices {
                for i in drafts.indices where Int(regionOf[i]) == r { w.raw(drafts[i].payload) }
            }
        }
        precondition(w.count == content, "batch length \(w.count) != computed \(content)")
        w.zeros(length - content)
        let sum = w.bytes.withUnsafeBytes { XXH3.hash(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        w.patchU64(sum, at: 8)
        return w.bytes
    }

    static func padding(_ length: Int) -> Int {
        (Format.batchAlignment - length % Format.batchAlignment) % Format.batchAlignment
    }
}

/// The parsed header of a commit batch, with the ranges of its regions (relative to the batch start).
public struct BatchLayout: Sendable, Equatable {
    /// The whole batch: a multiple of 8, the zero padding after the regions included.
    public var length: Int
    public var firstLSN: UInt64
    public var count: Int
    public var firstHLC: UInt64
    public var lastHLC: UInt64
    public var envelopes: Range<Int>
    public var teams: [String]
    public var regions: [Range<Int>]
    public var lastLSN: UInt64 { firstLSN + UInt64(count) - 1 }
}

/// What is found at a position of an open segment.
public enum BatchProbe: Equatable {
    case batch(BatchLayout)
    /// Zero bytes (or no bytes): the clean end of the data.
    case end
    /// The batch runs past the bytes available.
    case incomplete(reason: String)
    /// Checksum or structure is wrong.
    case bad(reason: String)
}

extension CommitBatch {
    /// Looks at the bytes at the start of `buffer` (which holds everything up to the end of the data).
    /// Verifies the checksum and the header; the records are checked by `walk`.
    public static func probe(_ buffer: UnsafeRawBufferPointer) -> BatchProbe {
        if buffer.count < 8 {
            return buffer.allSatisfy({ $0 == 0 }) ? .end : .incomplete(reason: "\(buffer.count) bytes, header needs 56")
        }
        let magic = buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian
        let length = Int(buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        if magic == 0 && length == 0 {
            let probeEnd = min(buffer.count, Format.batchHeaderSize)
            if UnsafeRawBufferPointer(rebasing: buffer[..<probeEnd]).allSatisfy({ $0 == 0 }) { return .end }
            return .bad(reason: "nonzero bytes after a zero magic")
        }
        guard magic == Format.batchMagic else { return .bad(reason: String(format32: magic)) }
        guard length >= Format.batchHeaderSize, length % Format.batchAlignment == 0,
            length <= Limits.maxBatchBytes + (1 << 20)
        else {
            return .bad(reason: "batch length \(length) is impossible")
        }
        guard length <= buffer.count else {
            return .incomplete(reason: "batch of \(length) bytes but only \(buffer.count) bytes follow")
        }
        let stored = buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        let actual = XXH3.hash(UnsafeRawBufferPointer(rebasing: buffer[16..<length]))
        guard stored == actual else {
            return .bad(reason: "checksum mismatch (stored \(hex64(stored)), computed \(hex64(actual)))")
        }
        do {
            return .batch(try layout(UnsafeRawBufferPointer(rebasing: buffer[..<length])))
        } catch {
            return .bad(reason: "\(error)")
        }
    }

    static func layout(_ b: UnsafeRawBufferPointer) throws(DecodeFailure) -> BatchLayout {
        var r = ByteReader(b, offset: 16)
        let firstLSN = try r.u64("first lsn")
        let count = Int(try r.u32("event count"))
        _ = try r.u32("flags")
        let firstHLC = try r.u64("first hlc")
        let lastHLC = try r.u64("last hlc")
        let envelopeLength = Int(try r.u32("envelope region length"))
        let regionCount = Int(try r.u16("region count"))
        _ = try r.u16("reserved")
        guard count >= 1, count <= Limits.maxBatchEvents, firstLSN >= 1, firstHLC <= lastHLC else {
            throw DecodeFailure(
                field: "batch header", offset: 16, reason: "count \(count), lsn \(firstLSN), clocks out of order")
        }
        var teams: [String] = []
        var sizes: [Int] = []
        for _ in 0..<regionCount {
            sizes.append(Int(try r.u32("region length")))
            let n = Int(try r.u8("team length"))
            guard let team = String(validating: try r.bytes(n, "team"), as: UTF8.self) else {
                throw DecodeFailure(field: "team", offset: r.offset - n, reason: "is not UTF-8")
            }
            teams.append(team)
        }
        let envStart = r.offset
        guard envelopeLength <= b.count - envStart else {
            throw DecodeFailure(field: "envelope region length", offset: 48, reason: "runs past the batch")
        }
        var at = envStart + envelopeLength
        var regions: [Range<Int>] = []
        for s in sizes {
            guard s <= b.count - at else {
                throw DecodeFailure(field: "region length", offset: at, reason: "runs past the batch")
            }
            regions.append(at..<at + s)
            at += s
        }
        guard at <= b.count, b.count - at < Format.batchAlignment, b[at...].allSatisfy({ $0 == 0 }) else {
            throw DecodeFailure(field: "batch length", offset: 4, reason: "regions end at \(at), batch at \(b.count)")
        }
        return BatchLayout(
            length: b.count, firstLSN: firstLSN, count: count, firstHLC: firstHLC, lastHLC: lastHLC,
            envelopes: envStart..<envStart + envelopeLength, teams: teams, regions: regions)
    }

    /// Visits every record of a probed batch (`batch` is the batch's bytes, starting at its magic), with every
    /// payload readable: a region `coding` cannot decrypt fails the walk with `keyMissing` (the sealer needs
    /// every plaintext).
    public static func walk(
        _ batch: UnsafeRawBufferPointer, _ layout: BatchLayout, fileOffset: Int, coding: RegionCoding,
        _ body: (UInt64, EnvelopeView, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try walkRegions(batch, layout, fileOffset: fileOffset, coding: coding) { lsn, view, env, payload, state in
            guard state == .plain else {
                var key = ""
                if case .encrypted(_, let id) = state { key = " (key \(id))" }
                throw EventLogError(
                    .keyMissing,
                    "LSN \(lsn) is encrypted for team \"\(layout.teams[view.region])\" and its key\(key) is not in this store's keyring",
                    path: coding.path, offset: Int64(fileOffset), lsn: lsn,
                    hint: "import the team's key with `aibrain keys team import`")
            }
            try body(lsn, view, env, payload)
        }
    }

    /// Visits every record of a probed batch with its payload state. A payload that is stored encrypted and
    /// that `coding` cannot decrypt comes as an empty buffer with `.encrypted(team:keyID:)`; the walk still
    /// checks every length (the ciphertext is as long as the plaintext). A wrong tag under a held key throws
    /// corruption.
    public static func walkRegions(
        _ batch: UnsafeRawBufferPointer, _ layout: BatchLayout, fileOffset: Int, coding: RegionCoding,
        _ body: (UInt64, EnvelopeView, UnsafeRawBufferPointer, UnsafeRawBufferPointer, PayloadState) throws -> Void
    ) throws {
        let env = UnsafeRawBufferPointer(rebasing: batch[layout.envelopes])
        let envelopeBase = fileOffset + layout.envelopes.lowerBound
        let hlcRange = layout.firstHLC...layout.lastHLC
        guard coding.flagged else {
            let regions = layout.regions.map { UnsafeRawBufferPointer(rebasing: batch[$0]) }
            try walkRecords(
                envelopes: env, regions: regions, count: layout.count, envelopeBase: envelopeBase, hlcRange: hlcRange
            ) { i, view, payload in
                try body(layout.firstLSN + UInt64(i), view, env, payload, .plain)
            }
            return
        }
        // Decrypted regions go back to back into one buffer, so that one closure lends all their pointers.
        var decrypted: [UInt8] = []
        var decoded: [RegionCoding.Decoded] = []
        for (r, range) in layout.regions.enumerated() {
            decoded.append(
                try coding.decode(
                    UnsafeRawBufferPointer(rebasing: batch[range]), firstLSN: layout.firstLSN, region: r,
                    team: layout.teams[r], fileOffset: fileOffset + range.lowerBound, into: &decrypted))
        }
        try decrypted.withUnsafeBytes { plainAll in
            var regions: [UnsafeRawBufferPointer] = []
            var states: [PayloadState] = []
            for (r, d) in decoded.enumerated() {
                let stored = UnsafeRawBufferPointer(rebasing: batch[layout.regions[r]])
                switch d {
                case .plain(let range):
                    regions.append(UnsafeRawBufferPointer(rebasing: stored[range]))
                    states.append(.plain)
                case .decrypted(let range):
                    regions.append(UnsafeRawBufferPointer(rebasing: plainAll[range]))
                    states.append(.plain)
                case .unavailable(let state, let ciphertext):
                    // Only for the length checks of the walk: these bytes never reach `body`.
                    regions.append(UnsafeRawBufferPointer(rebasing: stored[ciphertext]))
                    states.append(state)
                }
            }
            let none = UnsafeRawBufferPointer(start: nil, count: 0)
            try walkRecords(
                envelopes: env, regions: regions, count: layout.count, envelopeBase: envelopeBase, hlcRange: hlcRange
            ) { i, view, payload in
                let state = states[view.region]
                try body(layout.firstLSN + UInt64(i), view, env, state == .plain ? payload : none, state)
            }
        }
    }
}

/// 16 lowercase hex digits, zero-padded.
public func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

extension String {
    init(format32 magic: UInt32) {
        self = "bad magic 0x\(String(magic, radix: 16))"
    }
}
