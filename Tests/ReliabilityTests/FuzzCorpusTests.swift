import EventLog
import Foundation
import FuzzTargets
import StorageTesting
import Testing

/// Replays `fixtures/fuzz/<target>/` through the same entries the libFuzzer targets call (`FuzzTesting/`):
/// the seed corpus (real files made by aibrain) and every input a fuzzing run found (`crash-*`, `oom-*`,
/// `timeout-*`, kept by `make fuzz` as regressions). A trap here is a parser bug; a returned message is a
/// broken invariant.
@Suite struct FuzzCorpusTests {
    static let corpusRoot = packageRoot + "/fixtures/fuzz"

    static func files(_ target: FuzzTarget) -> [String] {
        let dir = corpusRoot + "/" + target.rawValue
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { dir + "/" + $0 }
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(_ target: FuzzTarget) throws {
        let files = Self.files(target)
        #expect(files.contains { ($0 as NSString).lastPathComponent.hasPrefix("seed-") }, "no seed for \(target)")
        for path in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            if let broken = target.run(bytes) {
                Issue.record("\(target.rawValue): \(path): \(broken)")
            }
        }
    }

    /// The seeds are accepted inputs, not only refused ones: each target's corpus must reach past the first
    /// check, or fuzzing starts from nothing. (Checked through the parsers the entries call.)
    @Test func seedsParse() throws {
        for target in FuzzTarget.allCases {
            let seeds = Self.files(target).filter { ($0 as NSString).lastPathComponent.hasPrefix("seed-") }
            let accepted = try seeds.filter { path in
                FuzzTarget.accepts(target, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            }
            #expect(!accepted.isEmpty, "no seed of \(target.rawValue) parses: the corpus would start from nothing")
        }
    }

    /// The seeds of the binary targets no CLI command writes alone: binary envelopes and logical records
    /// (Merkle leaf entries) of the example events, and LZ4 frames of them (u16 size, then the frame). Written
    /// by `FuzzTesting/make-seeds.sh` (`AIBRAIN_WRITE_FUZZ_SEEDS=dir`); otherwise compared with the files.
    static func generatedSeeds() throws -> [(target: FuzzTarget, name: String, bytes: [UInt8])] {
        // The valid examples of the envelope contract (fixtures/envelope-examples.jsonl, {"valid":…,"event":…}).
        let lines = try String(contentsOfFile: packageRoot + "/fixtures/envelope-examples.jsonl", encoding: .utf8)
            .split(separator: "\n").compactMap { line -> Data? in
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    o["valid"] as? Bool == true, let event = o["event"] as? [String: Any]
                else { return nil }
                return try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])
            }.prefix(8)
        #expect(lines.count == 8, "fewer valid envelope examples than expected")
        var out: [(FuzzTarget, String, [UInt8])] = []
        for (i, line) in lines.enumerated() {
            var draft = try EventJSON.draft(fromLine: [UInt8](line), lineNumber: i + 1)
            draft.eventID = String(repeating: "0", count: 31) + String(i + 1)  // not a random id: pinned bytes
            var w = ByteWriter()
            EnvelopeCodec.encode(draft, hlc: UInt64(1000 + i), recordedAt: 1_767_000_000_000, region: 0, into: &w)
            out.append((.record, "seed-envelope-\(i + 1)", w.bytes + draft.payload))
            let entry = w.bytes + [UInt8(draft.team.utf8.count)] + Array(draft.team.utf8) + draft.payload
            out.append((.record, "seed-logical-\(i + 1)", entry))
            var frame: [UInt8] = []
            var scratch: [UInt8] = []
            let text = [UInt8](line)
            text.withUnsafeBytes { _ = LZ4Frame.compress($0, appendingTo: &frame, scratch: &scratch) }
            out.append((.lz4, "seed-frame-\(i + 1)", [UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + frame))
        }
        return out
    }

    @Test func generatedSeeds() throws {
        let write = ProcessInfo.processInfo.environment["AIBRAIN_WRITE_FUZZ_SEEDS"]
        for seed in try Self.generatedSeeds() {
            let path = (write ?? Self.corpusRoot) + "/" + seed.target.rawValue + "/" + seed.name
            if write != nil {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: path))
            } else {
                let held = try? Data(contentsOf: URL(fileURLWithPath: path))
                #expect(held.map([UInt8].init) == seed.bytes, "\(path) is stale: run `make fuzz-seeds`")
            }
        }
    }

    /// Every target's entry survives the inputs fuzzers try first (empty, one byte, all 0xFF, huge lengths).
    @Test(arguments: FuzzTarget.allCases)
    func edgeInputs(_ target: FuzzTarget) {
        let inputs: [[UInt8]] = [
            [], [0], [0xFF], [UInt8](repeating: 0xFF, count: 300), [UInt8](repeating: 0, count: 4096),
            Array("---\n{}\n---\n".utf8),
            Array(
                "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"
                    .utf8),
        ]
        for input in inputs {
            if let broken = target.run(input) { Issue.record("\(target.rawValue) on \(input.count) bytes: \(broken)") }
        }
    }
}
