import StorageTesting
import Testing

@testable import BrainEvents
@testable import EventLog

/// The PII gate's detectors, as a table: what each flags and what it must leave alone.
struct PIIGateTests {
    func hit(_ s: String) -> String? {
        var s = s
        return s.withUTF8 { PIIGate.standard.detect($0) }
    }

    @Test(arguments: [
        ("SSN 219-09-9999", "ssn"), ("ssn:078 05 1120", "ssn"), ("npi 1234567893", "npi"),
        ("NPI=1245319599.", "npi"), ("mail jane.doe+x@example.co.uk now", "email"), ("a@b.io", "email"),
    ])
    func flags(_ text: String, _ detector: String) {
        #expect(hit(text) == detector, "\(text)")
    }

    @Test(arguments: [
        "000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "2026-12-01T10:15:00Z",
        "555-123-4567", "1234-56-7890", "12345678931", "1234567890", "3234567893", "2000000008", "1733090000", "@main",
        "user@localhost",
        "git@host", "see @dev-team", "T-000056", "123e4567-e89b-12d3-a456-426614174000", "usd 0.183876",
        "tokens_in 43387", "Npi add an path", "fbddcf7c1234567893e4ec", "x219-09-9999",
    ])
    func leavesAlone(_ text: String) {
        #expect(hit(text) == nil, "\(text)")
    }

    @Test func namesTheFieldPathNeverTheValue() {
        var d = EventDraft(eventID: "e", type: "a.b", stream: "task/T")
        d.payload = Array(#"{"provider":{"contacts":[{"x":1},"ok","dr@clinic.org"]},"n":1}"#.utf8)
        let f = PIIGate.standard.firstFinding(in: d)
        #expect(f == PIIFinding(field: "data.provider.contacts[2]", detector: "email"))
        #expect(!f!.description.contains("clinic"))
    }

    @Test func escapedStringsAreDecodedFirst() {
        var d = EventDraft(eventID: "e", type: "a.b")
        d.payload = Array(#"{"to":"dr\u0040clinic.org"}"#.utf8)
        #expect(PIIGate.standard.firstFinding(in: d)?.detector == "email")
    }

    @Test func keysAndEnvelopeFieldsAreChecked() {
        var d = EventDraft(eventID: "e", type: "a.b", keys: ["item/1", "patient/219-09-9999"])
        #expect(PIIGate.standard.firstFinding(in: d) == PIIFinding(field: "keys[1]", detector: "ssn"))
        d.keys = []
        d.payload = Array(#"{"jane@x.org":true}"#.utf8)
        // A key is named by its parent only: naming it would echo the value.
        #expect(PIIGate.standard.firstFinding(in: d)?.field == "data (a key)")
    }

    @Test func theGeneratorWorkloadIsClean() throws {
        // The benchmark workload is realistic agent traffic without PII: the gate must not cry wolf.
        let path = packageRoot + "/fixtures/golden-v1/events.jsonl"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for (i, line) in text.split(separator: "\n").enumerated() {
            let d = try EventJSON.draft(fromLine: Array(line.utf8), lineNumber: i + 1)
            #expect(PIIGate.standard.firstFinding(in: d) == nil, "line \(i + 1)")
        }
    }
}
