import EventLog

/// One thing a detector found: where (a field path such as `actor`, `keys[1]` or `data.provider.contact`)
/// and which detector. Never the value: messages built from a finding cannot leak what they guard.
public struct PIIFinding: Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var detector: String
    public init(field: String, detector: String) {
        self.field = field
        self.detector = detector
    }
    public var description: String { "field `\(field)` looks like \(detector)" }
}

/// A detector of one kind of personal data in a string's UTF-8 bytes. The trust layer adds more
/// (DEA numbers, MBI, phone numbers, dates of birth, record numbers by context word).
public protocol PIIDetector: Sendable {
    /// Short name used in messages, e.g. `ssn`.
    var name: String { get }
    /// Whether `text` contains this kind of data. Called for every string of every event: keep it linear.
    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool
}

/// What happens to an event the gate flags.
public enum PIIPolicy: String, Sendable, CaseIterable {
    /// Refuse the whole input (exit 4); nothing is appended.
    case reject
    /// Append anyway and report the findings on stderr (for data already vetted elsewhere).
    case warn
}

/// The PII gate seam (ARCHITECTURE.md, BrainEvents): every string of an event's envelope and payload,
/// object keys included, goes through every detector before anything is appended.
public struct PIIGate: Sendable {
    public var detectors: [any PIIDetector]

    public init(detectors: [any PIIDetector]) { self.detectors = detectors }

    /// SSN, NPI and email: the detectors every store starts with.
    public static let standard = PIIGate(detectors: [SSNDetector(), NPIDetector(), EmailDetector()])

    /// The first finding in an event, or nil if it is clean. Envelope strings first, then the payload.
    public func firstFinding(in draft: EventDraft) -> PIIFinding? {
        var found: PIIFinding?
        func check(_ field: @autoclosure () -> String, _ s: String) -> Bool {
            var s = s
            let hit = s.withUTF8 { detect($0) }
            if let hit { found = PIIFinding(field: field(), detector: hit) }
            return hit != nil
        }
        if check("event_id", draft.eventID) || check("type", draft.type) || check("stream", draft.stream)
            || check("actor", draft.actor) || check("team", draft.team)
            || check("correlation_id", draft.correlationID) || check("causation_id", draft.causationID)
            || check("occurred_at", draft.occurredAt) || check("provenance", draft.provenance)
        {
            return found
        }
        for (i, k) in draft.keys.enumerated() where check("keys[\(i)]", k) { return found }
        return draft.payload.withUnsafeBufferPointer { payloadFinding($0) }
    }

    /// The name of the first detector that matches `text`.
    public func detect(_ text: UnsafeBufferPointer<UInt8>) -> String? {
        // Every detector needs a digit run or an `@`: most strings are prose and are skipped in one pass.
        var digits = 0
        var at = false
        for b in text {
            if b &- 0x30 < 10 { digits += 1 } else if b == UInt8(ascii: "@") { at = true }
        }
        guard digits >= 9 || at else { return nil }
        for d in detectors where d.matches(text) { return d.name }
        return nil
    }

    /// Walks a JSON payload, naming each string by its path (`data.a.b[2]`).
    func payloadFinding(_ json: UnsafeBufferPointer<UInt8>) -> PIIFinding? {
        var walker = JSONStringWalker(bytes: json)
        var found: PIIFinding?
        walker.walk { path, text in
            if let hit = detect(text) {
                found = PIIFinding(field: path(), detector: hit)
                return false
            }
            return true
        }
        return found
    }
}

/// Visits every string (values and object keys) of a JSON document with its path. The document was
/// validated when it was parsed; malformed input ends the walk without a finding.
struct JSONStringWalker {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var path: [PathPart] = []
    var scratch: [UInt8] = []

    enum PathPart {
        case key(Range<Int>)
        case index(Int)
    }

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func pathString(_ extra: String? = nil) -> String {
        var s = "data"
        for p in path {
            switch p {
            case .key(let r): s += "." + String(decoding: bytes[r], as: UTF8.self)
            case .index(let n): s += "[\(n)]"
            }
        }
        if let extra { s += extra }
        return s
    }

    /// `visit` gets a lazily built path and the string's unescaped bytes; returning false stops the walk.
    mutating func walk(_ visit: (() -> String, UnsafeBufferPointer<UInt8>) -> Bool) {
        path = []
        _ = value(visit)
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 {
            i += 1
        }
    }

    /// Returns false to stop (a finding, or malformed input).
    mutating func value(_ visit: (() -> String, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        skipSpace()
        guard i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return true
            }
            while true {
                skipSpace()
                guard let key = stringRange() else { return false }
                let me = self
                if !withString(key, { visit({ me.pathString(" (a key)") }, $0) }) { return false }
                path.append(.key(key.inner))
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                i += 1
                if !value(visit) { return false }
                path.removeLast()
                skipSpace()
                guard i < bytes.count else { return false }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { return false }
                i += 1
                return true
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
                return true
            }
            var n = 0
            while true {
                path.append(.index(n))
                if !value(visit) { return false }
                path.removeLast()
                n += 1
                skipSpace()
                guard i < bytes.count else { return false }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "]") else { return false }
                i += 1
                return true
            }
        case UInt8(ascii: "\""):
            guard let r = stringRange() else { return false }
            let me = self
            return withString(r, { visit({ me.pathString() }, $0) })
        default:
            // Numbers, true, false, null: not strings.
            while i < bytes.count, !"{}[],".utf8.contains(bytes[i]) { i += 1 }
            return true
        }
    }

    /// The string at `i` (quotes excluded), and whether it holds escapes; moves past it.
    mutating func stringRange() -> (inner: Range<Int>, escaped: Bool)? {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var j = start
        var escaped = false
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "\\") {
                escaped = true
                j += 2
                continue
            }
            if b == UInt8(ascii: "\"") {
                i = j + 1
                return (start..<j, escaped)
            }
            j += 1
        }
        return nil
    }

    /// Calls `body` with the string's text: the bytes themselves, or unescaped ones (`\u0040` is an `@`).
    mutating func withString(_ r: (inner: Range<Int>, escaped: Bool), _ body: (UnsafeBufferPointer<UInt8>) -> Bool)
        -> Bool
    {
        if !r.escaped { return body(UnsafeBufferPointer(rebasing: bytes[r.inner])) }
        let quoted = Array(bytes[(r.inner.lowerBound - 1)..<(r.inner.upperBound + 1)])
        guard let s = JSONScanner.unescape(quoted[...]) else { return true }
        scratch = Array(s.utf8)
        return scratch.withUnsafeBufferPointer { body($0) }
    }
}
