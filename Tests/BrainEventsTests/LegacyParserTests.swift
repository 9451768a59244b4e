import BrainEvents
import Foundation
import Testing

/// The legacy parsers on the inputs a review found mishandled.
@Suite struct LegacyParserTests {
    @Test func crlfFilesParseLikeLFFiles() throws {
        let crlf = "---\r\nid: KO-1\r\ntitle: CRLF file\r\ntags: [a, b]\r\n---\r\nbody line\r\n"
        let ko = try KOMarkdown.parse(Array(crlf.utf8), file: "ko.md")
        #expect(ko.id == "KO-1" && ko.title == "CRLF file" && ko.tags == ["a", "b"] && ko.body == "body line\n")
    }

    /// Only JSON numbers become numbers: `01` or `1.` stay text, so no invalid JSON reaches a payload.
    @Test func yamlScalarsThatAreNotJSONNumbersStayText() throws {
        let md = "---\nid: KO-2\ntitle: t\nversion: 01\nratio: 1.\nok: 0.5\n---\n"
        let ko = try KOMarkdown.parse(Array(md.utf8), file: "ko.md")
        #expect(ko.metadata.map(\.0) == ["version", "ratio", "ok"])
        #expect(
            ko.metadata[0].1 == .string("01") && ko.metadata[1].1 == .string("1.") && ko.metadata[2].1 == .number("0.5")
        )
        let json = JSONValue.object(ko.metadata).jsonText
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil, "\(json)")
    }

    /// A decision's id material is the line as export writes it: the task from the file name and dropped nulls
    /// give the same record as the exported line.
    /// A run of CRs before an LF reads as one LF, so reading is idempotent (libFuzzer's legacy-session finding);
    /// a CR inside a line stays. What YAML cannot hold raw (DEL, C1 controls) is escaped on export and reads
    /// back the same (legacy-ko's finding).
    @Test func lineEndsAndControlCharactersSurviveAnExport() throws {
        let md = "---\nid: KO-3\ntitle: \"a\\u007Fb\\u0085c\"\n---\nline\r\r\nmid\rline\r\n"
        let ko = try KOMarkdown.parse(Array(md.utf8), file: "ko.md")
        #expect(ko.title == "a\u{7F}b\u{85}c" && ko.body == "line\nmid\rline\n", "\(ko.body.debugDescription)")
        let again = try KOMarkdown.parse(Array(ko.text.utf8), file: "again.md")
        #expect(again.title == ko.title && again.body == ko.body)
        #expect(ko.text.contains("\\u007F") && !ko.text.unicodeScalars.contains("\u{7F}"))
        // YAML's \P is U+2029, a line break to YAML 1.1: in a metadata value it must not be written raw (a name
        // holding one is refused).
        let sep = try KOMarkdown.parse(Array("---\nid: KO-4\ntitle: t\nnote: \"a\\Pb\"\n---\n".utf8), file: "ko.md")
        #expect(sep.metadata.first?.1 == .string("a\u{2029}b"))
        let sepAgain = try KOMarkdown.parse(Array(sep.text.utf8), file: "again.md")
        #expect(sepAgain.metadata.first?.1 == .string("a\u{2029}b") && !sep.text.unicodeScalars.contains("\u{2029}"))
    }

    /// Front matter that names a key twice is refused (libFuzzer's second legacy-session finding: YAML tags and
    /// anchors with no name gave two "" keys, and the export read back with one).
    @Test func frontMatterNamingAKeyTwiceIsRefused() {
        for text in [
            "---\nid: KO-5\ntitle: a\ntitle: b\n---\n", "---\n{!t , &a , x: 1}\n---\n",
            "---\nid: KO-5\n\"a\\tb\": 1\n---\n", "---\nid: KO-5\n\(String(repeating: "k", count: 129)): 1\n---\n",
            // One character, 130 scalars (combining marks): the limit counts scalars.
            "---\nid: KO-5\n\"a\(String(repeating: "\u{301}", count: 129))\": 1\n---\n",
        ] {
            do {
                _ = try KOMarkdown.parse(Array(text.utf8), file: "ko.md", defaultID: "KO-5")
                Issue.record("accepted \(text.debugDescription)")
            } catch {
                #expect(
                    ["twice", "unique", "1 to 128 Unicode scalars"].contains { error.description.contains($0) },
                    "\(error)")
            }
        }
    }

    /// A work queue object naming its list twice (`work_items` and `items`) is refused, not half read.
    @Test func aWorkQueueWithTwoListsIsRefused() {
        let json = #"{"work_items":[{"id":"WI-1","task_id":"T-1"}],"items":[{"id":"WI-2","task_id":"T-2"}]}"#
        let (items, problems) = LegacyFiles.workQueue(Array(json.utf8), file: "tasks/work_queue_x.json")
        #expect(items.isEmpty && problems.count == 1)
        #expect(problems.first?.description.contains("both a `work_items` and an `items` member") == true)
        let one = #"{"items":[{"id":"WI-2","task_id":"T-2"}]}"#
        #expect(LegacyFiles.workQueue(Array(one.utf8), file: "q.json").0.map(\.id) == ["WI-2"])
    }

    @Test func aDecisionReadsTheSameFromItsExport() throws {
        let line = #"{"timestamp":"2026-02-07T10:15:00Z","decision":"APPROACH","value":"v","severity":null}"#
        let (a, pa) = LegacyFiles.decisions(Array(line.utf8), file: "T-9.jsonl", defaultTask: "T-9")
        #expect(pa.isEmpty && a.count == 1)
        let (b, pb) = LegacyFiles.decisions(Array(a[0].jsonLine.utf8), file: "T-9.jsonl", defaultTask: nil)
        #expect(pb.isEmpty && b.count == 1 && b[0].canonical == a[0].canonical)
    }
}
