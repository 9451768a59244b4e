import EventLog
import Foundation

/// `size`: bytes on disk of the sealed log directory (`<store>/log/`, every file, as `du -b` counts them)
/// against the JSONL input, and a round-trip check that every input field comes back out of the store.
enum SizeScenario {
    static let name = "size"
    static let jsonlName = "JSONL (the input file)"
    static let sqliteName = "SQLite (db + wal, with index)"

    static func run(_ c: BenchContext, _ stores: LoadedStores) throws {
        let n = Double(c.workload.count)
        let logDir = stores.root + "/log"
        let total = BenchStore.fileBytes(under: logDir)
        let sealed = BenchStore.fileBytes(under: logDir) { $0.hasSuffix(".seg") }
        let open = BenchStore.fileBytes(under: logDir) { $0.hasSuffix(".open") }
        let jsonl = Double(c.workload.meta.bytes)
        let rep = c.report
        rep.add(name, Report.engine, "bytes on disk", .bytes, [Double(total)])
        rep.add(name, jsonlName, "bytes on disk", .bytes, [jsonl])
        if let db = stores.sqlitePath {
            let bytes = BenchStore.fileBytes(under: directoryName(of: db)) { $0.hasPrefix("events.db") }
            rep.add(name, sqliteName, "bytes on disk", .bytes, [Double(bytes)])
        }
        rep.add(name, Report.engine, "bytes/event", .bytesPerEvent, [Double(total) / n])
        rep.add(name, jsonlName, "bytes/event", .bytesPerEvent, [jsonl / n])
        rep.checkRatio(name, "bytes on disk", peer: jsonlName, .atMost, 0.45)
        rep.note(
            "\(name): log/ holds \(grouped(Double(sealed))) B of sealed segments, \(grouped(Double(open))) B of "
                + "(empty, preallocated) .open segment, \(grouped(Double(total - sealed - open))) B of CATALOG, EVENTIDS and LOCK."
        )

        progress("\(name): round-trip check of \(c.workload.count) events")
        let check = try RoundTripCheck.run(c.workload, try stores.reader())
        rep.check(
            name, "round-trip: every input field reproduced (mismatched events == 0)",
            measured: Double(check.mismatches), .count, .exactly, 0)
        rep.note(
            "\(name): round trip read \(grouped(Double(check.events))) events back with `read` and rendered them with "
                + "`EventJSON.line`: \(check.mismatches) mismatched events"
                + (check.examples.isEmpty ? "." : "; first: " + check.examples.joined(separator: "; ")))
    }
}

/// Reads every event back and compares its rendered line with the input line: `event_id`, `type`,
/// `agent`→`actor`, `task_id`→`stream` `task/<id>`, `ts`→`occurred_at`; every other input member must be
/// byte-identical, in input order, inside `data`.
enum RoundTripCheck {
    struct Outcome {
        var events = 0
        var mismatches = 0
        var examples: [String] = []
    }

    static func run(_ w: Workload, _ log: EventLog) throws -> Outcome {
        var out = Outcome()
        try w.withMemory { m in
            try log.read { e in
                let i = Int(e.lsn) - 1
                out.events += 1
                let problem: String?
                if i < 0 || i >= w.count {
                    problem = "LSN beyond the input"
                } else {
                    problem = compare(m.lineBytes(i), EventJSON.line(e))
                }
                if let problem {
                    out.mismatches += 1
                    if out.examples.count < 3 { out.examples.append("LSN \(e.lsn): \(problem)") }
                }
                return true
            }
        }
        if out.events != w.count {
            out.mismatches += abs(w.count - out.events)
            out.examples.append("read \(out.events) events, the input has \(w.count)")
        }
        return out
    }

    /// nil when `rendered` reproduces `input`, else what differs.
    static func compare(_ input: UnsafeRawBufferPointer, _ rendered: [UInt8]) -> String? {
        rendered.withUnsafeBytes { r -> String? in
            guard let inMembers = JSONMembers.split(input) else { return "the input line does not split" }
            guard let outMembers = JSONMembers.split(r) else { return "the rendered line does not split" }
            func outValue(_ key: String) -> UnsafeRawBufferPointer? {
                let k = Array(key.utf8)
                guard let m = outMembers.first(where: { r[$0.key].elementsEqual(k) }) else { return nil }
                return UnsafeRawBufferPointer(rebasing: r[m.value])
            }
            var data: [UInt8] = [UInt8(ascii: "{")]
            for m in inMembers {
                let key = String(decoding: input[m.key], as: UTF8.self)
                let value = UnsafeRawBufferPointer(rebasing: input[m.value])
                let renamed: String? = [
                    "event_id": "event_id", "type": "type", "agent": "actor", "task_id": "stream", "ts": "occurred_at",
                ][key]
                guard let renamed else {
                    if data.count > 1 { data.append(UInt8(ascii: ",")) }
                    data += input[m.whole]
                    continue
                }
                guard let got = outValue(renamed) else { return "`\(renamed)` (from `\(key)`) is missing" }
                let expected: [UInt8] = key == "task_id" ? Array("\"task/".utf8) + value.dropFirst() : Array(value)
                if !sameString(expected, Array(got)) {
                    return
                        "`\(renamed)` is \(String(decoding: got, as: UTF8.self)), expected \(String(decoding: expected, as: UTF8.self))"
                }
            }
            data.append(UInt8(ascii: "}"))
            guard let got = outValue("data") else { return "`data` is missing" }
            if !got.elementsEqual(data) {
                return "`data` differs from the input's other fields (\(got.count) bytes, expected \(data.count))"
            }
            return nil
        }
    }

    /// Two JSON string literals with the same value: equal bytes, or equal once decoded (escapes may differ).
    static func sameString(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        func decode(_ s: [UInt8]) -> String? {
            (try? JSONSerialization.jsonObject(with: Data(s), options: .fragmentsAllowed)) as? String
        }
        guard let x = decode(a), let y = decode(b) else { return false }
        return x == y
    }
}
