import EventLog
import Shipping

/// How events look to people: one-line (`tail -o short`), a block per event (`verbose`, replay `text`),
/// and a Markdown report (replay `md`). Machine output is `EventJSON.line` and nothing else.
struct EventRenderer {
    /// Display names of origins: the local store's name, a peer's name from the manifest it shipped here,
    /// else the first 8 hex digits of the id.
    let names: [OriginID: String]

    init(reader: StoreReader) {
        var n: [OriginID: String] = [:]
        for log in reader.logs { n[log.origin] = String(log.origin.hex.prefix(8)) }
        let incoming = reader.paths.incoming
        for file in (try? reader.fs.listDirectory(incoming)) ?? [] where file.hasSuffix(Adopter.manifestSuffix) {
            // Only a manifest a store shipped about itself names it, and only with a plain name (no control
            // characters or escapes reach the terminal).
            guard let o = OriginID(hex: String(file.dropLast(Adopter.manifestSuffix.count))), n[o] != nil,
                let bytes = try? reader.fs.readFile(incoming + "/" + file),
                let m = try? Manifest.decode(bytes, path: file), m.store == o.hex, Init.isValidName(m.name)
            else { continue }
            n[o] = m.name
        }
        n[reader.localOrigin] = reader.config.name
        names = n
    }

    func origin(_ o: OriginID) -> String { names[o] ?? String(o.hex.prefix(8)) }

    /// `2026-12-01 10:15:00.123` (UTC; the Z is in the headers).
    static func time(_ ms: Int64) -> String {
        let s = ISO8601.format(milliseconds: ms)
        return s.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
    }

    static func payload(_ e: Event) -> JSONTree? { JSONTree.parse(e.payload.isEmpty ? Array("{}".utf8) : e.payload) }

    /// What is shown instead of a payload this store cannot read: `[encrypted: team X]` (no key for the team
    /// here) or `[shredded]` (its stream key was destroyed); nil for a readable payload.
    static func marker(_ e: Event) -> String? {
        switch e.payloadState {
        case .plain: return nil
        case .encrypted(let team, _): return "[encrypted: team \(team.isEmpty ? "\"\"" : team)]"
        case .shredded: return "[shredded]"
        }
    }

    /// The payload as `key=value` pairs on one line, cut at `limit` characters.
    static func summary(_ e: Event, limit: Int) -> String {
        if let m = marker(e) { return m }
        guard let tree = payload(e) else { return "[payload is not JSON: \(e.payload.count) bytes]" }
        let text = tree.readable
        return text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }

    /// journalctl's `short`: time, origin, actor, type, stream, then the payload on the same line.
    func short(_ e: Event) -> String {
        var s = Self.time(e.recordedAt) + " " + origin(e.origin) + " "
        s += (e.draft.actor.isEmpty ? "-" : e.draft.actor) + " " + e.type
        if !e.stream.isEmpty { s += " " + e.stream }
        let data = Self.summary(e, limit: 160)
        if !data.isEmpty { s += ": " + data }
        return s
    }

    /// Every envelope field on its own line, then the payload, pretty.
    func verbose(_ e: Event) -> String {
        let d = e.draft
        var lines = [
            "\(ISO8601.format(milliseconds: e.recordedAt)) \(e.type) v\(d.typeVersion)  [\(origin(e.origin)):\(e.lsn)]",
            "    event_id: \(d.eventID)",
        ]
        func add(_ k: String, _ v: String) { if !v.isEmpty { lines.append("    \(k): \(v)") } }
        add("stream", d.stream)
        add("keys", d.keys.joined(separator: ", "))
        add("actor", d.actor)
        add("team", d.team)
        add("correlation_id", d.correlationID)
        add("causation_id", d.causationID)
        add("occurred_at", d.occurredAt)
        add("provenance", d.provenance)
        if d.flags != 0 { add("flags", String(d.flags)) }
        lines.append("    origin: \(e.origin.hex) epoch \(e.epoch) lsn \(e.lsn) hlc \(e.hlc)")
        if let m = Self.marker(e) {
            lines.append("    data: " + m)
        } else if let tree = Self.payload(e) {
            lines.append("    data: " + tree.pretty(indent: "    "))
        } else {
            lines.append("    data: [not JSON: \(e.payload.count) bytes]")
        }
        return lines.joined(separator: "\n")
    }

    /// The machine line, pretty-printed (tail `-o json`).
    static func prettyJSON(_ e: Event) -> String {
        let line = EventJSON.line(e)
        return JSONTree.parse(line)?.pretty() ?? String(decoding: line, as: UTF8.self)
    }

    // MARK: - Replay

    /// A timeline a person reads: a header, then per event its time, type, who, and its fields.
    func timeline(task: String, events: [Event]) -> String {
        var out = [replayHeader(task: task, events: events), ""]
        for e in events {
            var head = "\(Self.time(e.recordedAt))  \(e.type)"
            if e.draft.typeVersion != 1 { head += " v\(e.draft.typeVersion)" }
            let who = [e.draft.actor, e.draft.team.isEmpty ? "" : "(\(e.draft.team))"].filter { !$0.isEmpty }
            if !who.isEmpty { head += "  " + who.joined(separator: " ") }
            head += "  [\(origin(e.origin)):\(e.lsn)]"
            out.append(head)
            if !e.draft.occurredAt.isEmpty { out.append("    occurred_at: \(e.draft.occurredAt)") }
            if let m = Self.marker(e) {
                out.append("    data: \(m)")
                continue
            }
            switch Self.payload(e) {
            case .object(let members)?:
                for (k, v) in members { out.append("    \(k): \(v.readable)") }
            case let other?: out.append("    data: \(other.readable)")
            case nil: out.append("    data: [not JSON: \(e.payload.count) bytes]")
            }
        }
        return out.joined(separator: "\n")
    }

    func replayHeader(task: String, events: [Event]) -> String {
        guard let first = events.first, let last = events.last else { return "task \(task): no events" }
        let origins = Set(events.map(\.origin)).map(origin).sorted().joined(separator: ", ")
        return
            "task \(task): \(events.count) event\(events.count == 1 ? "" : "s"), \(ISO8601.format(milliseconds: first.recordedAt)) → \(ISO8601.format(milliseconds: last.recordedAt)), origins: \(origins)"
    }

    /// A report to paste into a ticket.
    func markdown(task: String, events: [Event]) -> String {
        var out = ["# Task \(task): history", ""]
        guard let first = events.first, let last = events.last else {
            return (out + ["No events recorded for this task."]).joined(separator: "\n")
        }
        var typeCounts: [String: Int] = [:]
        for e in events { typeCounts[e.type, default: 0] += 1 }
        let actors = Set(events.map(\.draft.actor).filter { !$0.isEmpty }).sorted()
        out += [
            "| | |", "|---|---|",
            "| Events | \(events.count) |",
            "| From | \(ISO8601.format(milliseconds: first.recordedAt)) |",
            "| To | \(ISO8601.format(milliseconds: last.recordedAt)) |",
            "| Actors | \(actors.isEmpty ? "-" : actors.map(Self.cell).joined(separator: ", ")) |",
            "| Types | \(typeCounts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")) |",
            "| Origins | \(Set(events.map(\.origin)).map(origin).sorted().joined(separator: ", ")) |",
            "", "## Timeline", "",
        ]
        for (n, e) in events.enumerated() {
            var head = "### \(n + 1). \(Self.time(e.recordedAt)) · `\(e.type)`"
            if !e.draft.actor.isEmpty { head += " · \(Self.cell(e.draft.actor))" }
            out.append(head)
            out.append("")
            if let m = Self.marker(e) {
                out.append("- **data**: \(m)")
            } else {
                switch Self.payload(e) {
                case .object(let members)?:
                    for (k, v) in members { out.append("- **\(Self.cell(k))**: \(Self.cell(v.readable))") }
                case let other?: out.append("- **data**: \(Self.cell(other.readable))")
                case nil: out.append("- **data**: (not JSON, \(e.payload.count) bytes)")
                }
            }
            out.append("")
            out.append(
                "<sub>event `\(e.eventID)` · origin \(origin(e.origin)) · LSN \(e.lsn)\(e.draft.team.isEmpty ? "" : " · team \(e.draft.team)")</sub>"
            )
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    /// Text safe inside a Markdown table cell or list item.
    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
