import Foundation
import StorageTesting
import Testing

@testable import AIBrainCLI
@testable import BrainEvents
@testable import EventLog

/// `schemas/envelope.schema.json` and the CLI's input parser accept and reject exactly the same events,
/// on the table in `fixtures/envelope-examples.jsonl`, with Python's `jsonschema` as the referee.
struct EnvelopeSchemaTests {
    struct Example {
        var name: String
        var valid: Bool
        var event: [UInt8]
    }

    func examples() throws -> [Example] {
        let text = try String(contentsOfFile: packageRoot + "/fixtures/envelope-examples.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let members = try JSONScanner.members(of: Array(line.utf8))
            let name = members.first { $0.key == "name" }.flatMap { JSONScanner.unescape($0.value) }
            let valid = members.first { $0.key == "valid" }.map { String(decoding: $0.value, as: UTF8.self) }
            let event = members.first { $0.key == "event" }!.value
            return Example(name: name!, valid: valid == "true", event: Array(event))
        }
    }

    /// The CLI's verdict: the same parse and checks `emit` and `import` run (the PII gate aside).
    func cliAccepts(_ e: Example) -> Bool {
        var input = EventInput(gate: PIIGate(detectors: []), policy: .reject)
        return (try? input.parse(e.event, number: 1, source: e.name)) != nil
    }

    @Test func cliAgreesWithTheTable() throws {
        let all = try examples()
        #expect(all.count >= 50)
        #expect(all.contains { $0.valid } && all.contains { !$0.valid })
        for e in all {
            #expect(cliAccepts(e) == e.valid, "\(e.name): the CLI \(cliAccepts(e) ? "accepts" : "rejects") it")
        }
    }

    @Test func jsonschemaAgreesWithTheTable() throws {
        let python = try requireTool("python3")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [
            packageRoot + "/Tests/AIBrainCLITests/schema_check.py", packageRoot + "/schemas/envelope.schema.json",
            packageRoot + "/fixtures/envelope-examples.jsonl",
        ]
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(
            p.terminationStatus == 0,
            "schema_check.py failed (python3-jsonschema missing? run `make deps`): \(errors)")
        var verdicts: [String: Bool] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "\t")
            verdicts[String(parts[0])] = parts[1] == "true"
        }
        let all = try examples()
        #expect(verdicts.count == all.count)
        for e in all {
            #expect(verdicts[e.name] == e.valid, "\(e.name): jsonschema says \(String(describing: verdicts[e.name]))")
        }
    }
}
