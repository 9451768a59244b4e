/// Validation of drafts before anything is written (style point 8: validate right before `pwrite`).
/// Each failure names the field and what is wrong, never echoing more of the value than needed.
public enum EnvelopeValidation {
    /// `[A-Za-z0-9._:-]{1,128}` (contract 9).
    public static func isValidEventID(_ id: String) -> Bool {
        let u = id.utf8
        guard !u.isEmpty, u.count <= Limits.maxIDLength else { return false }
        return u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
                || c == UInt8(ascii: "-")
        }
    }

    /// `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`.
    public static func isValidType(_ type: String) -> Bool {
        let u = Array(type.utf8)
        guard u.count <= Limits.maxTypeLength, !u.isEmpty else { return false }
        var parts = 0
        var atSegmentStart = true
        for c in u {
            if atSegmentStart {
                guard c >= 0x61 && c <= 0x7A else { return false }
                atSegmentStart = false
                parts += 1
            } else if c == UInt8(ascii: ".") {
                atSegmentStart = true
            } else {
                guard (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") else {
                    return false
                }
            }
        }
        return !atSegmentStart && parts >= 2
    }

    /// A 32-character lowercase hex id is stored as 16 bytes (and printed back identically).
    static func isLowercaseHex32(_ id: String) -> Bool {
        let u = id.utf8
        return u.count == 32 && u.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Checks every field and the event's encoded size. `index` is the event's position in its batch.
    public static func validate(_ d: EventDraft, index: Int) throws(EventLogError) {
        func fail(_ field: String, _ reason: String) -> EventLogError {
            EventLogError(.invalidInput, "event \(index): field `\(field)` \(reason)")
        }
        guard isValidEventID(d.eventID) else {
            throw fail("event_id", "must be 1–128 characters of [A-Za-z0-9._:-]")
        }
        guard isValidType(d.type) else {
            throw fail("type", "must match ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$ and be at most 128 characters")
        }
        guard d.typeVersion >= 1 else { throw fail("type_version", "must be at least 1") }
        guard d.keys.count <= Limits.maxKeys else { throw fail("keys", "has \(d.keys.count) keys; at most 4") }
        func short(_ name: String, _ v: String, _ max: Int) throws(EventLogError) {
            if v.utf8.count > max { throw fail(name, "is \(v.utf8.count) bytes; at most \(max)") }
        }
        try short("stream", d.stream, Limits.maxStreamLength)
        for (i, k) in d.keys.enumerated() {
            try short("keys", k, Limits.maxStreamLength)
            if k.isEmpty { throw fail("keys", "contains an empty key") }
            // An event is indexed once per name: a key repeating the stream or another key is refused.
            if k == d.stream || d.keys[..<i].contains(k) { throw fail("keys", "repeats the stream or another key") }
        }
        try short("team", d.team, Limits.maxTeamLength)
        try short("actor", d.actor, Limits.maxShortFieldLength)
        try short("correlation_id", d.correlationID, Limits.maxShortFieldLength)
        try short("causation_id", d.causationID, Limits.maxShortFieldLength)
        try short("occurred_at", d.occurredAt, Limits.maxShortFieldLength)
        try short("provenance", d.provenance, Limits.maxProvenanceLength)
        let size = EnvelopeCodec.encodedSize(d) + d.payload.count
        if size > Limits.maxEventBytes {
            throw fail("payload", "makes the event \(size) bytes; the limit is \(Limits.maxEventBytes) (1 MiB)")
        }
    }
}
