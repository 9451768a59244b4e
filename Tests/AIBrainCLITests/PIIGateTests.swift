import ArgumentParser
import StorageTesting
import Testing

@testable import AIBrainCLI
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

    /// The detectors added for the trust layer, at their edges: separators, case, boundaries, check digits.
    @Test(arguments: [
        ("DEA AB1234563", "dea"), ("ab1234563", "dea"), ("BX9876547 on file", "dea"), ("M91234563", "dea"),
        ("(AB1234563)", "dea"), ("1EG4-TE5-MK73", "mbi"), ("MBI 1EG4TE5MK73.", "mbi"), ("[9AA9A99AA99]", "mbi"),
        ("(212) 555-0134", "phone"), ("212-555-0134", "phone"), ("212.555.0134", "phone"), ("212 555 0134", "phone"),
        ("+1 212-555-0134", "phone"), ("+1 (212) 555-0134", "phone"), ("1-800-555-0199", "phone"),
        ("+1(212)555-0134", "phone"), ("call 212-555-0134.", "phone"), ("fax:(212)555.0134", "phone"),
        ("DOB: 1980-01-02", "dob"), ("born 02/29/1980", "dob"), ("Date of Birth: Jan 2, 1980", "dob"),
        ("d.o.b. 2 January 1980", "dob"), ("birthdate=19800102", "dob"), (#"dateOfBirth "1/2/80""#, "dob"),
        ("DOB 31.12.1979", "dob"), ("birth_date: Sept. 30, 1975", "dob"), ("DOB (mm/dd/yyyy): 12/25/1961", "dob"),
        ("MRN: 00123456", "mrn"), ("mrn=MR-4471902", "mrn"), ("Medical Record Number 4471902", "mrn"),
        ("chart # 88123", "mrn"), ("med rec E1234567", "mrn"), ("MRN#A1234B", "mrn"),
    ])
    func flagsTheNewDetectors(_ text: String, _ detector: String) {
        #expect(hit(text) == detector, "\(text)")
    }

    @Test(arguments: [
        // DEA: a wrong check digit, I is no registrant type, mixed case, inside a longer token.
        "AB1234564", "IB1234563", "Ab1234563", "XAB1234563", "AB12345630", "AB1234563x",
        // MBI: excluded letters, a leading 0, lowercase, one dash only, inside a longer token.
        "1SG4TE5MK73", "0EG4TE5MK73", "1eg4te5mk73", "1EG4-TE5MK73", "X1EG4TE5MK73", "1EG4TE5MK734",
        // Phone: bare digits, exchange or area code 0/1, N11, inside dotted or dashed runs, longer groups.
        "2125550134", "212-155-0134", "123-456-7890", "911-555-0134", "10.212.555.0134", "212-555-0134-77",
        "212-555-01345", "v212.555.0134", "212 555 0134 5", "212-555 0134", "+2 212 555 0134",
        // Dates without a birth word, impossible dates, words that only start like one.
        "2026-12-01", "deployed 03/04/2025", "born 2024", "DOB: 1980-02-30", "DOB 13/13/1980",
        "dobson 1980-01-02", "DOB unknown, seen 2024-01-02", "stubborn 1980-01-02",
        // Record numbers: too short, no digits, too few digits, `chart` alone, too long.
        "MRN 1234", "MRN: pending", "MRN ABCDE12", "chart 12345678", "mrn 1234567890123", "merchant 12345678",
    ])
    func newDetectorsLeaveAlone(_ text: String) {
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

    // MARK: - --pii-policy redact, as emit and import run it

    func line(_ json: String) -> [UInt8] { Array(json.utf8) }

    @Test func redactReplacesPayloadValuesAndReportsFieldAndDetector() throws {
        var input = EventInput(gate: .standard, policy: .redact)
        let parsed = try input.parse(
            line(#"{"type":"note.added","task_id":"T-1","data":{"to":"dr@clinic.org","n":1,"mrn":"00123456"}}"#),
            number: 3, source: "stdin")
        #expect(
            String(decoding: parsed.draft.payload, as: UTF8.self)
                == #"{"to":"[redacted: email]","n":1,"mrn":"[redacted: mrn]"}"#)
        #expect(
            input.redactions == [
                .init(line: 3, field: "data.to", detector: "email"), .init(line: 3, field: "data.mrn", detector: "mrn"),
            ])
        #expect(
            input.warnings == [
                "stdin: line 3: field `data.to` looks like email (redacted: --pii-policy redact)",
                "stdin: line 3: field `data.mrn` looks like mrn (redacted: --pii-policy redact)",
            ])
    }

    @Test func redactStillRejectsEnvelopeFieldsAndKeys() {
        for (json, field, reason) in [
            (
                #"{"type":"note.added","task_id":"T-1","actor":"jane@x.org","data":{"n":"SSN 219-09-9999"}}"#, "actor",
                "envelope"
            ),
            (#"{"type":"note.added","task_id":"T-1","data":{"jane@x.org":1}}"#, "data (a key)", "object keys"),
        ] {
            var input = EventInput(gate: .standard, policy: .redact)
            do {
                _ = try input.parse(line(json), number: 1, source: "stdin")
                Issue.record("appended: \(json)")
            } catch {
                #expect(error.status == .policy && error.code == "pii-rejected")
                #expect(
                    error.message.contains("field `\(field)`") && error.message.contains(reason), "\(error.message)")
                #expect(!error.message.contains("jane") && !error.message.contains("9999"))
            }
            #expect(input.redactions.isEmpty && input.warnings.isEmpty)
        }
    }

    @Test func aDraftTheCallerKeepsIsRejectedUnderRedact() {
        // `check` without `&` (catalogue commands build their own drafts): there is no copy to append.
        var input = EventInput(gate: .standard, policy: .redact)
        var d = EventDraft(eventID: "e", type: "a.b", stream: "task/T-1")
        d.payload = Array(#"{"n":"SSN 219-09-9999"}"#.utf8)
        #expect { try input.check(d, number: nil, source: "ko.created") } throws: { e in
            (e as? CLIError)?.code == "pii-rejected"
        }
    }

    @Test func thePolicyOption() throws {
        #expect(try PIIOptions.parse([]).policy == .reject)
        #expect(try PIIOptions.parse(["--pii-policy", "redact"]).policy == .redact)
        #expect(try PIIOptions.parse(["--pii-policy", "warn"]).policy == .warn)
        #expect(throws: (any Error).self) { try PIIOptions.parse(["--pii-policy", "mask"]) }
    }
}
