/// A 128-bit origin id (the writing store), printed as 32 lowercase hex digits.
public struct OriginID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "an origin id is 16 bytes")
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard hex.utf8.count == 32, let b = bytesFromHex(hex) else { return nil }
        bytes = b
    }

    public static func random() -> OriginID {
        var g = SystemRandomNumberGenerator()
        return OriginID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    public var hex: String { hexString(bytes) }
    public var description: String { hex }
    public static func < (a: OriginID, b: OriginID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// An event as a client submits it; the writer assigns origin, epoch, LSN, HLC and recorded-at.
/// The payload is opaque bytes (JSON by convention, never parsed here).
public struct EventDraft: Sendable, Equatable {
    public var eventID: String
    public var type: String
    public var typeVersion: UInt16
    /// Primary stream, e.g. `task/T-1`; empty for none.
    public var stream: String
    /// Up to four more index keys (e.g. `item/WI-7`).
    public var keys: [String]
    public var actor: String
    public var team: String
    public var correlationID: String
    public var causationID: String
    /// The client's own time claim, kept verbatim (legacy timestamps go here).
    public var occurredAt: String
    /// Set only by imports: source file:line, or source origin/epoch/LSN.
    public var provenance: String
    public var flags: UInt8
    public var payload: [UInt8]

    public init(
        eventID: String, type: String, typeVersion: UInt16 = 1, stream: String = "", keys: [String] = [],
        actor: String = "", team: String = "", correlationID: String = "", causationID: String = "",
        occurredAt: String = "", provenance: String = "", flags: UInt8 = 0, payload: [UInt8] = Array("{}".utf8)
    ) {
        self.eventID = eventID
        self.type = type
        self.typeVersion = typeVersion
        self.stream = stream
        self.keys = keys
        self.actor = actor
        self.team = team
        self.correlationID = correlationID
        self.causationID = causationID
        self.occurredAt = occurredAt
        self.provenance = provenance
        self.flags = flags
        self.payload = payload
    }

    /// 16 random bytes as 32 hex digits (contract 9's default id).
    public static func randomEventID() -> String {
        var g = SystemRandomNumberGenerator()
        return hexString((0..<16).map { _ in UInt8.random(in: 0...255, using: &g) })
    }
}

/// A stored event, read back: the draft's fields plus what the writer assigned.
public struct Event: Sendable, Equatable {
    public var origin: OriginID
    public var epoch: UInt32
    public var lsn: UInt64
    public var hlc: UInt64
    /// Writer clock, Unix milliseconds.
    public var recordedAt: Int64
    public var draft: EventDraft
    /// Whether `payload` could be read: an event stored encrypted without its key here, or sealed under a
    /// shredded stream key, keeps its envelope and has an empty payload (never garbage, never an error).
    public var payloadState: PayloadState

    public var eventID: String { draft.eventID }
    public var type: String { draft.type }
    public var stream: String { draft.stream }
    public var payload: [UInt8] { draft.payload }

    public init(
        origin: OriginID, epoch: UInt32, lsn: UInt64, hlc: UInt64, recordedAt: Int64, draft: EventDraft,
        payloadState: PayloadState = .plain
    ) {
        self.origin = origin
        self.epoch = epoch
        self.lsn = lsn
        self.hlc = hlc
        self.recordedAt = recordedAt
        self.draft = draft
        self.payloadState = payloadState
    }
}

/// Hybrid logical clock: 48-bit Unix milliseconds, 16-bit counter (contract 6).
public enum HLC {
    public static func make(milliseconds: Int64, counter: UInt16 = 0) -> UInt64 {
        UInt64(max(0, milliseconds)) << 16 | UInt64(counter)
    }
    public static func milliseconds(_ hlc: UInt64) -> Int64 { Int64(hlc >> 16) }
    /// The next clock value: max(now, last + 1, floor + 1).
    public static func next(now: Int64, last: UInt64, floor: UInt64 = 0) -> UInt64 {
        max(make(milliseconds: now), last &+ 1, floor &+ 1)
    }
}

extension Event {
    /// XXH3-64 of event id ‖ 0x00 ‖ hlc (u64 LE) ‖ payload: names one record whether it sits in an `.open` or
    /// a sealed segment, in this store or a peer's (cursors and projection snapshots use it).
    public var recordHash: UInt64 { Event.recordHash(eventID: eventID, hlc: hlc, payload: payload) }

    public static func recordHash(eventID: String, hlc: UInt64, payload: [UInt8]) -> UInt64 {
        var b: [UInt8] = Array(eventID.utf8)
        b.reserveCapacity(b.count + 9 + payload.count)
        b.append(0)
        withUnsafeBytes(of: hlc.littleEndian) { b += $0 }
        b += payload
        return XXH3.hash(b)
    }
}
