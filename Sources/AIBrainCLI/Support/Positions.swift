import EventLog
import Foundation

/// A tail cursor: for each origin, the last record delivered, as (origin id, epoch, lsn, record hash).
/// Opaque to users (`c1-` + base64url); valid on any store holding those records, because it names records
/// by content, not by file offsets. See schemas/FORMAT.md, "Cursors".
///
/// ```
/// u8 version 1 | u16 origin count n | n × (16 origin id | u32 epoch | u64 lsn | u64 record hash)
/// | u32 low half of XXH3-64 of everything before (catches a mistyped or truncated token)
/// ```
/// all integers little-endian.
public struct TailCursor: Equatable, Sendable {
    public struct Mark: Equatable, Sendable {
        public var origin: OriginID
        public var epoch: UInt32
        public var lsn: UInt64
        public var recordHash: UInt64
    }

    /// Sorted by origin id; at most one per origin.
    public private(set) var marks: [Mark] = []

    public init() {}

    public static let prefix = "c1-"

    /// The record hash of contract "cursor": XXH3-64 of event id ‖ 0x00 ‖ hlc (u64 LE) ‖ payload. It is
    /// the same whether the record sits in an `.open` or a sealed segment, in this store or a peer's.
    public static func recordHash(_ e: Event) -> UInt64 { e.recordHash }

    /// Moves the origin's mark to `e` (events of one origin arrive in LSN order).
    /// (A store holds at most 65,535 origins in a cursor: far beyond any fleet of repositories.)
    public mutating func advance(to e: Event) { advance(Self.mark(e)) }

    /// The mark naming `e`.
    public static func mark(_ e: Event) -> Mark {
        Mark(origin: e.origin, epoch: e.epoch, lsn: e.lsn, recordHash: recordHash(e))
    }

    /// Moves the mark's origin to it.
    public mutating func advance(_ mark: Mark) {
        if let i = marks.firstIndex(where: { $0.origin == mark.origin }) {
            marks[i] = mark
        } else {
            marks.append(mark)
            marks.sort { $0.origin < $1.origin }
        }
    }

    /// Where to start reading each origin: one past its mark.
    public var startLSNs: [OriginID: UInt64] {
        Dictionary(uniqueKeysWithValues: marks.map { ($0.origin, $0.lsn + 1) })
    }

    public var token: String {
        var b: [UInt8] = [1]
        withUnsafeBytes(of: UInt16(truncatingIfNeeded: marks.count).littleEndian) { b += $0 }
        for m in marks {
            b += m.origin.bytes
            withUnsafeBytes(of: m.epoch.littleEndian) { b += $0 }
            withUnsafeBytes(of: m.lsn.littleEndian) { b += $0 }
            withUnsafeBytes(of: m.recordHash.littleEndian) { b += $0 }
        }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: XXH3.hash(b)).littleEndian) { b += $0 }
        return Self.prefix
            + Data(b).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public init(token: String) throws(CLIError) {
        let bad = CLIError.invalid(
            "`\(token.prefix(80))` is not an aibrain cursor (expected c1-… as printed by --show-cursor)")
        guard token.hasPrefix(Self.prefix) else { throw bad }
        var text = String(token.dropFirst(Self.prefix.count)).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { throw bad }
        let b = [UInt8](data)
        guard b.count >= 7, b[0] == 1 else { throw bad }
        let n = Int(b[1]) | Int(b[2]) << 8
        guard b.count == 3 + n * 36 + 4 else { throw bad }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
        guard u32(b.count - 4) == UInt32(truncatingIfNeeded: XXH3.hash(Array(b[..<(b.count - 4)]))) else {
            throw CLIError.invalid("cursor `\(token.prefix(80))` fails its checksum (mistyped or truncated?)")
        }
        var at = 3
        for _ in 0..<n {
            marks.append(
                Mark(
                    origin: OriginID(bytes: Array(b[at..<at + 16])), epoch: u32(at + 16), lsn: u64(at + 20),
                    recordHash: u64(at + 28)))
            at += 36
        }
        guard marks.map(\.origin) == marks.map(\.origin).sorted(), Set(marks.map(\.origin)).count == marks.count else {
            throw bad
        }
    }

    /// Checks every mark against the store: same origin, epoch, LSN and record. Refuses loudly otherwise.
    public func check(against reader: StoreReader) throws {
        for m in marks {
            guard let log = reader.log(m.origin) else {
                throw CLIError.invalid(
                    "cursor does not match this log: it names origin \(m.origin.hex), which this store does not hold",
                    hint: "use the cursor on the store it came from, or adopt that origin's segments first")
            }
            guard let e = try log.event(lsn: m.lsn), e.epoch == m.epoch, Self.recordHash(e) == m.recordHash else {
                throw CLIError.invalid(
                    "cursor does not match this log: origin \(m.origin.hex) has no record at LSN \(m.lsn) (epoch \(m.epoch)) with the cursor's hash",
                    hint:
                        "the store was replaced or rolled back; start again without the cursor (consumers dedupe on event_id)"
                )
            }
        }
    }
}

/// A position on the command line: `[ORIGIN:]LSN` (ORIGIN: an origin id, a unique prefix of one of at
/// least 4 hex digits, or the local store's name; default the local origin) or a cursor.
enum Position {
    case event(OriginID, UInt64)
    case cursor(TailCursor)

    static func parse(_ text: String, reader: StoreReader) throws -> Position {
        if text.hasPrefix(TailCursor.prefix) { return .cursor(try TailCursor(token: text)) }
        var originText: Substring?
        var lsnText = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            originText = text[..<colon]
            lsnText = text[text.index(after: colon)...]
        }
        guard let lsn = UInt64(lsnText), lsn >= 1 else {
            throw CLIError.usage("position `\(text)`: expected [ORIGIN:]LSN with LSN ≥ 1, or a cursor")
        }
        let origin = try originText.map { try resolveOrigin(String($0), reader: reader) } ?? reader.localOrigin
        return .event(origin, lsn)
    }

    static func resolveOrigin(_ text: String, reader: StoreReader) throws -> OriginID {
        if text == reader.config.name { return reader.localOrigin }
        let lower = text.lowercased()
        let matches = reader.logs.map(\.origin).filter { $0.hex.hasPrefix(lower) }
        guard lower.count >= 4, lower.allSatisfy(\.isHexDigit), matches.count == 1 else {
            throw CLIError.usage(
                "origin `\(text)` \(matches.count > 1 && lower.count >= 4 ? "is ambiguous" : "is not in this store")",
                hint: "origins here: "
                    + reader.logs.map {
                        $0.origin == reader.localOrigin ? "\($0.origin.hex) (\(reader.config.name))" : $0.origin.hex
                    }
                    .joined(separator: ", "))
        }
        return matches[0]
    }
}

/// Times on the command line: RFC 3339 (`2026-12-01T10:15:00Z`, fractions and offsets allowed), a date
/// (`2026-12-01`, midnight UTC), `now`, or a span before now (`10m`, `2h`, `3d`, `90s ago`; `--since=-2h`
/// too, with the `=` so that the parser does not take `-2h` for an option).
enum TimeArgument {
    static func parse(_ text: String, now: Int64 = OpenOptions.wallClockMilliseconds()) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "now" { return now }
        if let rel = relative(t) { return now - rel }
        if let abs = rfc3339(t) { return abs }
        throw CLIError.usage(
            "time `\(text)`: expected RFC 3339 (2026-12-01T10:15:00Z), a date (2026-12-01), now, or a span before now (10m, 2h ago, 3d)"
        )
    }

    static func relative(_ t: String) -> Int64? {
        var s = Substring(t)
        if s.hasPrefix("-") {
            s = s.dropFirst()
        } else if s.hasSuffix(" ago") {
            s = s.dropLast(4)
        }
        guard let unit = s.last, let n = Int64(s.dropLast()), n >= 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1000
        case "m": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        default: return nil
        }
        // A span past the year 1 AD is a typo, not a time: no overflow, a usage error.
        let (ms, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow || ms > 62_000_000_000_000 ? nil : ms
    }

    /// Unix milliseconds of an RFC 3339 timestamp or a plain date.
    static func rfc3339(_ t: String) -> Int64? { ISO8601.parse(t) }
}
