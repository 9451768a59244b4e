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

/// A detector of one kind of personal data in a string's UTF-8 bytes.
public protocol PIIDetector: Sendable {
    /// Short name used in messages, e.g. `ssn`.
    var name: String { get }
    /// What a text needs before `matches` can be true; the gate counts once per string and skips the rest.
    var prefilter: PIIPrefilter { get }
    /// Whether `text` contains this kind of data. Called for every string of every event: keep it linear.
    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool
    /// Whether `text`, the value of the JSON object member `memberName` (the nearest one, for values in
    /// arrays; its raw bytes), contains this kind of data. For detectors a field's name informs (`"dob":
    /// "1980-01-02"`); by default the name is ignored.
    func matches(_ text: UnsafeBufferPointer<UInt8>, memberName: UnsafeBufferPointer<UInt8>) -> Bool
}

extension PIIDetector {
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 0) }
    public func matches(_ text: UnsafeBufferPointer<UInt8>, memberName: UnsafeBufferPointer<UInt8>) -> Bool {
        matches(text)
    }
}

/// A detector's cheapest necessary condition: at least `minimumDigits` ASCII digits, and an `@` if
/// `needsAt`. Most strings (prose, short ids) meet no detector's and cost one pass over their bytes.
public struct PIIPrefilter: Sendable, Equatable {
    public var minimumDigits: Int
    public var needsAt: Bool
    public init(minimumDigits: Int, needsAt: Bool = false) {
        self.minimumDigits = minimumDigits
        self.needsAt = needsAt
    }
    func admits(digits: Int, at: Bool) -> Bool { digits >= minimumDigits && (at || !needsAt) }
}

/// What happens to an event the gate flags.
public enum PIIPolicy: String, Sendable, CaseIterable {
    /// Refuse the whole input (exit 4); nothing is appended.
    case reject
    /// Append anyway and report the findings on stderr (for data already vetted elsewhere).
    case warn
    /// Append with each flagged payload string value replaced by `"[redacted: <detector>]"`, reported on
    /// stderr. A finding redaction cannot remove is still rejected: in an envelope field (the event's ids,
    /// stream and keys are its identity and index; changed, it would be another event) or in an object key
    /// (the payload's shape).
    case redact
}

/// The PII gate seam (ARCHITECTURE.md, BrainEvents): every string of an event's envelope and payload,
/// object keys included, goes through every detector before anything is appended.
public struct PIIGate: Sendable {
    public let detectors: [any PIIDetector]
    /// `detectors[k].prefilter`, read once: the gate asks it of every string.
    private let prefilters: [PIIPrefilter]

    public init(detectors: [any PIIDetector]) {
        self.detectors = detectors
        self.prefilters = detectors.map(\.prefilter)
    }

    /// The detectors every store starts with: SSN, NPI, email, DEA, MBI, phone, date of birth and medical
    /// record number (the last two by context word or member name).
    public static let standard = PIIGate(detectors: [
        SSNDetector(), NPIDetector(), EmailDetector(), DEADetector(), MBIDetector(), PhoneDetector(),
        DateOfBirthDetector(), MedicalRecordNumberDetector(),
    ])

    /// The first finding in an event, or nil if it is clean. Envelope strings first, then the payload.
    public func firstFinding(in draft: EventDraft) -> PIIFinding? {
        if let f = envelopeFinding(in: draft) { return f }
        return draft.payload.withUnsafeBufferPointer { payloadFinding($0) }
    }

    /// The first finding in the envelope's strings (ids, type, stream, keys, actor, team, times, provenance).
    public func envelopeFinding(in draft: EventDraft) -> PIIFinding? {
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
        return nil
    }

    /// The name of the first detector that matches `text`.
    public func detect(_ text: UnsafeBufferPointer<UInt8>) -> String? { detect(text, memberName: nil) }

    /// The name of the first detector that matches `text`, the value of the member `memberName` if given.
    public func detect(_ text: UnsafeBufferPointer<UInt8>, memberName: UnsafeBufferPointer<UInt8>?) -> String? {
        var digits = 0
        var at = false
        for b in text {
            if b &- 0x30 < 10 { digits += 1 } else if b == UInt8(ascii: "@") { at = true }
        }
        for k in prefilters.indices where prefilters[k].admits(digits: digits, at: at) {
            let d = detectors[k]
            let hit = memberName.map { d.matches(text, memberName: $0) } ?? d.matches(text)
            if hit { return d.name }
        }
        return nil
    }

    /// Walks a JSON payload, naming each string by its path (`data.a.b[2]`).
    func payloadFinding(_ json: UnsafeBufferPointer<UInt8>) -> PIIFinding? {
        var walker = JSONStringWalker(bytes: json)
        var found: PIIFinding?
        walker.walk { s, path, text in
            if let hit = detect(text, memberName: s.memberName.map { UnsafeBufferPointer(rebasing: json[$0]) }) {
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

    /// One string of the document.
    struct Visit {
        /// The string in the document, quotes included (what redaction replaces).
        var token: Range<Int>
        /// Whether it is an object key rather than a value.
        var isKey: Bool
        /// For a value: the name of the nearest object member holding it (raw bytes), if any.
        var memberName: Range<Int>?
    }

    typealias Visitor = (Visit, () -> String, UnsafeBufferPointer<UInt8>) -> Bool

    /// The name of the innermost object member around the current value.
    func nearestMember() -> Range<Int>? {
        for case .key(let k) in path.reversed() { return k }
        return nil
    }

    /// `visit` gets the string's (or integer's) place, a lazily built path and its unescaped bytes; returning
    /// false stops the walk.
    mutating func walk(_ visit: Visitor) {
        path = []
        _ = value(visit)
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 {
            i += 1
        }
    }

    /// Returns false to stop (a finding, or malformed input).
    mutating func value(_ visit: Visitor) -> Bool {
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
                let site = Visit(token: (key.inner.lowerBound - 1)..<(key.inner.upperBound + 1), isKey: true)
                if !withString(key, { visit(site, { me.pathString(" (a key)") }, $0) }) { return false }
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
            let site = Visit(
                token: (r.inner.lowerBound - 1)..<(r.inner.upperBound + 1), isKey: false, memberName: nearestMember())
            return withString(r, { visit(site, { me.pathString() }, $0) })
        default:
            // true, false, null and numbers. An integer is an identifier as much as a string is
            // (`{"npi": 1234567893}`, `{"mrn": 123456}`): its digits go to the detectors too.
            let start = i
            while i < bytes.count, !"{}[],".utf8.contains(bytes[i]) { i += 1 }
            var end = i
            while end > start,
                bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D
                    || bytes[end - 1] == 0x09
            {
                end -= 1
            }
            guard end - start >= 5, bytes[start..<end].allSatisfy({ $0 &- 0x30 < 10 }) else { return true }
            let me = self
            let site = Visit(token: start..<end, isKey: false, memberName: nearestMember())
            return visit(site, { me.pathString() }, UnsafeBufferPointer(rebasing: bytes[start..<end]))
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

/// What `PIIGate.redact` did to an event.
public struct PIIRedaction: Sendable, Equatable {
    /// The payload values replaced, in document order (field path and detector, never the value).
    public var redacted: [PIIFinding] = []
    /// A finding redaction cannot remove: in an envelope field (an id, the stream or a key is the event's
    /// identity and index) or in an object key (the payload's shape). The draft is then left as it was, and
    /// the event must be refused.
    public var refused: PIIFinding?

    public init(redacted: [PIIFinding] = [], refused: PIIFinding? = nil) {
        self.redacted = redacted
        self.refused = refused
    }
}

extension PIIGate {
    /// The JSON string a flagged value becomes: `"[redacted: ssn]"`.
    public static func redactedValue(_ detector: String) -> String { "[redacted: \(detector)]" }

    /// Replaces every flagged string value of the payload by `"[redacted: <detector>]"`. Everything else
    /// stays byte for byte (members, their order, spacing, numbers), so the payload stays valid JSON; a
    /// value's escapes are decoded before the detectors see it, and the whole string token is replaced.
    /// Nothing is changed when the envelope or an object key holds a finding (`refused`).
    public func redact(_ draft: inout EventDraft) -> PIIRedaction {
        if let f = envelopeFinding(in: draft) { return PIIRedaction(refused: f) }
        var result = PIIRedaction()
        var cuts: [(token: Range<Int>, detector: String)] = []
        draft.payload.withUnsafeBufferPointer { json in
            var walker = JSONStringWalker(bytes: json)
            walker.walk { s, path, text in
                guard let hit = detect(text, memberName: s.memberName.map { UnsafeBufferPointer(rebasing: json[$0]) })
                else { return true }
                if s.isKey {
                    result.refused = PIIFinding(field: path(), detector: hit)
                    return false
                }
                result.redacted.append(PIIFinding(field: path(), detector: hit))
                cuts.append((s.token, hit))
                return true
            }
        }
        if result.refused != nil {
            result.redacted = []
            return result
        }
        guard !cuts.isEmpty else { return result }
        var out: [UInt8] = []
        out.reserveCapacity(draft.payload.count)
        var at = 0
        for cut in cuts {
            // A detector's name goes into JSON unescaped: it must not need escapes (programmer error).
            precondition(
                cut.detector.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") },
                "PII detector names must be plain ASCII text")
            out += draft.payload[at..<cut.token.lowerBound]
            out.append(UInt8(ascii: "\""))
            out += Self.redactedValue(cut.detector).utf8
            out.append(UInt8(ascii: "\""))
            at = cut.token.upperBound
        }
        out += draft.payload[at...]
        draft.payload = out
        return result
    }
}
