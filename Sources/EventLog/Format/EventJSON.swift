/// Events as JSON lines: the input forms (nested with `data`, or flat as `gen_events.py` writes them) and
/// the one machine output shape (envelope + writer fields + `data`).
///
/// Envelope fields of the input: `event_id`, `type`, `type_version`, `task_id` (→ stream `task/<id>`),
/// `stream`, `keys`, `actor` (alias `agent`), `team`, `correlation_id`, `causation_id`, `occurred_at`
/// (alias `ts`), `provenance`. In the flat form every other field goes to the payload, in input order;
/// values are copied as text (numbers never pass through a Double), minified. The writer-assigned fields of
/// the output shape (`origin`, `epoch`, `lsn`, `hlc`, `recorded_at`) are accepted and ignored, so an
/// exported line parses back (the writer assigns them anew; imports record the source in `provenance`).
public enum EventJSON {
    /// The writer-assigned members of an output-shape line, as written (imports record them as provenance).
    public struct WriterFields: Sendable, Equatable {
        public var origin: String?
        public var epoch: String?
        public var lsn: String?
        /// Whether the line gave an `event_id` (else the draft holds a fresh random one).
        public var eventIDGiven = false
        public init() {}
    }

    /// Parses one input line into a draft. Errors name the line and the field.
    public static func draft(fromLine line: [UInt8], lineNumber: Int) throws(EventLogError) -> EventDraft {
        var ignored = WriterFields()
        return try draft(fromLine: line, lineNumber: lineNumber, writer: &ignored)
    }

    /// Parses one input line into a draft, also returning the writer fields an exported line carries.
    public static func draft(fromLine line: [UInt8], lineNumber: Int, writer: inout WriterFields)
        throws(EventLogError) -> EventDraft
    {
        func fail(_ field: String, _ reason: String) -> EventLogError {
            EventLogError(.invalidInput, "line \(lineNumber): field `\(field)` \(reason)")
        }
        let members: [JSONScanner.Member]
        do throws(JSONScanner.Failure) {
            members = try JSONScanner.members(of: line)
        } catch {
            throw EventLogError(.invalidInput, "line \(lineNumber): not a JSON object (\(error))")
        }
        func text(_ m: JSONScanner.Member) throws(EventLogError) -> String {
            // `members` has already scanned (and so validated) every value. A string without escapes is
            // its bytes between the quotes: no copy, no second scan (most envelope fields).
            let v = m.value
            if v.count >= 2, v.first == UInt8(ascii: "\""), v.last == UInt8(ascii: "\""),
                !v.contains(UInt8(ascii: "\\"))
            {
                return String(decoding: v.dropFirst().dropLast(), as: UTF8.self)
            }
            var s = JSONScanner(bytes: Array(m.value))
            guard m.value.first == UInt8(ascii: "\""), let v = try? s.string(), s.i == m.value.count else {
                throw fail(m.key, "must be a string")
            }
            return v
        }
        var d = EventDraft(eventID: "", type: "")
        var payload: [UInt8] = [UInt8(ascii: "{")]
        var hasData = false
        var flatFields = 0
        var actorSeen = false
        var occurredSeen = false
        var idGiven = false
        for m in members {
            switch m.key {
            case "event_id":
                d.eventID = try text(m)
                idGiven = true
            case "type": d.type = try text(m)
            case "type_version":
                guard let v = UInt16(String(decoding: m.value, as: UTF8.self)), v >= 1 else {
                    throw fail("type_version", "must be an integer from 1 to 65535")
                }
                d.typeVersion = v
            case "task_id":
                let t = try text(m)
                guard !t.isEmpty else { throw fail("task_id", "must not be empty") }
                if !d.stream.isEmpty && d.stream != "task/" + t { throw fail("task_id", "disagrees with `stream`") }
                d.stream = "task/" + t
            case "stream":
                let s = try text(m)
                if !d.stream.isEmpty && d.stream != s { throw fail("stream", "disagrees with `task_id`") }
                d.stream = s
            case "keys":
                var s = JSONScanner(bytes: Array(m.value))
                guard m.value.first == UInt8(ascii: "[") else { throw fail("keys", "must be an array of strings") }
                s.i = 1
                var keys: [String] = []
                s.skipSpace()
                if s.peek != UInt8(ascii: "]") {
                    while true {
                        s.skipSpace()
                        guard let k = try? s.string() else { throw fail("keys", "must be an array of strings") }
                        keys.append(k)
                        s.skipSpace()
                        if s.peek == UInt8(ascii: ",") {
                            s.i += 1
                            continue
                        }
                        break
                    }
                }
                d.keys = keys
            case "actor", "agent":
                if actorSeen { throw fail(m.key, "given twice (`agent` is an alias of `actor`)") }
                actorSeen = true
                d.actor = try text(m)
            case "team": d.team = try text(m)
            case "correlation_id": d.correlationID = try text(m)
            case "causation_id": d.causationID = try text(m)
            case "occurred_at", "ts":
                if occurredSeen { throw fail(m.key, "given twice (`ts` is an alias of `occurred_at`)") }
                occurredSeen = true
                d.occurredAt = try text(m)
            case "provenance": d.provenance = try text(m)
            case "origin": writer.origin = (try? text(m)) ?? String(decoding: m.value, as: UTF8.self)
            case "epoch": writer.epoch = String(decoding: m.value, as: UTF8.self)
            case "lsn": writer.lsn = String(decoding: m.value, as: UTF8.self)
            case "hlc", "recorded_at":
                break
            case "flags":
                guard let v = UInt8(String(decoding: m.value, as: UTF8.self)) else {
                    throw fail("flags", "must be an integer from 0 to 255")
                }
                d.flags = v
            case "data":
                guard m.value.first == UInt8(ascii: "{") else { throw fail("data", "must be a JSON object") }
                hasData = true
                payload = []
                JSONScanner.minify(m.value, into: &payload)
            default:
                if flatFields > 0 { payload.append(UInt8(ascii: ",")) }
                flatFields += 1
                JSONScanner.quote(m.key, into: &payload)
                payload.append(UInt8(ascii: ":"))
                JSONScanner.minify(m.value, into: &payload)
                if m.key == "cost" || m.key == "usage" { d.flags |= Format.EnvelopeFlag.usage }
            }
        }
        if hasData && flatFields > 0 {
            throw EventLogError(
                .invalidInput,
                "line \(lineNumber): fields beside `data` must be envelope fields (move them into `data`)")
        }
        if !hasData { payload.append(UInt8(ascii: "}")) }
        if hasData, payload.contains(UInt8(ascii: "\"")) {
            // A usage block inside `data` also sets the flag.
            if let inner = try? JSONScanner.members(of: payload),
                inner.contains(where: { $0.key == "cost" || $0.key == "usage" })
            {
                d.flags |= Format.EnvelopeFlag.usage
            }
        }
        guard !d.type.isEmpty else { throw fail("type", "is required") }
        if !idGiven { d.eventID = EventDraft.randomEventID() }
        writer.eventIDGiven = idGiven
        d.payload = payload
        return d
    }

    /// The machine output shape of a stored event (one JSON object, no newline).
    public static func line(_ e: Event) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(e.payload.count + 400)
        var first = true
        func key(_ k: String) {
            if !first { o.append(UInt8(ascii: ",")) }
            first = false
            JSONScanner.quote(k, into: &o)
            o.append(UInt8(ascii: ":"))
        }
        func str(_ k: String, _ v: String, always: Bool = false) {
            guard always || !v.isEmpty else { return }
            key(k)
            JSONScanner.quote(v, into: &o)
        }
        o.append(UInt8(ascii: "{"))
        let d = e.draft
        str("event_id", d.eventID, always: true)
        str("type", d.type, always: true)
        key("type_version")
        o += Array(String(d.typeVersion).utf8)
        str("stream", d.stream)
        if !d.keys.isEmpty {
            key("keys")
            o.append(UInt8(ascii: "["))
            for (i, k) in d.keys.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                JSONScanner.quote(k, into: &o)
            }
            o.append(UInt8(ascii: "]"))
        }
        str("actor", d.actor)
        str("team", d.team)
        str("correlation_id", d.correlationID)
        str("causation_id", d.causationID)
        str("occurred_at", d.occurredAt)
        str("provenance", d.provenance)
        if d.flags != 0 {
            key("flags")
            o += Array(String(d.flags).utf8)
        }
        str("origin", e.origin.hex, always: true)
        key("epoch")
        o += Array(String(e.epoch).utf8)
        key("lsn")
        o += Array(String(e.lsn).utf8)
        key("hlc")
        o += Array(String(e.hlc).utf8)
        str("recorded_at", ISO8601.format(milliseconds: e.recordedAt), always: true)
        key("data")
        switch e.payloadState {
        case .plain:
            o += d.payload.isEmpty ? Array("{}".utf8) : d.payload
        case .encrypted(let team, _):
            // No key here: the envelope, and which team's key would open it; never bytes that are not the payload.
            o += Array("null".utf8)
            str("encrypted", team, always: true)
        case .shredded:
            o += Array("null".utf8)
            key("shredded")
            o += Array("true".utf8)
        }
        o.append(UInt8(ascii: "}"))
        return o
    }
}

/// RFC 3339 UTC timestamps with milliseconds, without Foundation's formatter cost.
public enum ISO8601 {
    public static func format(milliseconds ms: Int64) -> String {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let rem = ms - days * 86_400_000
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func p(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return
            "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(rem / 3_600_000, 2)):\(p(rem / 60_000 % 60, 2)):\(p(rem / 1000 % 60, 2)).\(p(rem % 1000, 3))Z"
    }

    /// Unix milliseconds of an RFC 3339 timestamp (fractions and offsets allowed) or a plain date (midnight UTC).
    public static func parse(_ t: String) -> Int64? {
        let b = Array(t.utf8)
        func num(_ at: Int, _ n: Int) -> Int64? {
            guard at + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in at..<at + n {
                guard b[k] &- 0x30 < 10 else { return nil }
                v = v * 10 + Int64(b[k] &- 0x30)
            }
            return v
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == UInt8(ascii: "-"), let mo = num(5, 2),
            b[7] == UInt8(ascii: "-"), let d = num(8, 2), (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var ms = days(year: y, month: mo, day: d) * 86_400_000
        if b.count == 10 { return ms }
        guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
            let h = num(11, 2), b.count > 13, b[13] == UInt8(ascii: ":"), let mi = num(14, 2), h < 24, mi < 60
        else { return nil }
        ms += h * 3_600_000 + mi * 60_000
        var i = 16
        if i < b.count, b[i] == UInt8(ascii: ":") {
            guard let s = num(i + 1, 2), s < 61 else { return nil }
            ms += s * 1000
            i += 3
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var scale: Int64 = 100
                while i < b.count, b[i] &- 0x30 < 10 {
                    ms += Int64(b[i] &- 0x30) * scale
                    scale /= 10
                    i += 1
                }
            }
        }
        guard i < b.count else { return ms }  // no zone: UTC
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") { return i + 1 == b.count ? ms : nil }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), let oh = num(i + 1, 2),
            i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2), i + 6 == b.count
        else { return nil }
        let offset = (oh * 60 + om) * 60_000
        return b[i] == UInt8(ascii: "+") ? ms - offset : ms + offset
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
