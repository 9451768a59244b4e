import EventLog
import Foundation

/// The sidecar `gen_events.py` writes beside the JSONL file (`OUT.jsonl.meta.json`).
struct WorkloadMeta: Codable, Sendable {
    var n: Int
    var seed: Int
    var bytes: Int
    var meanEventBytes: Double
    var distinctTasks: Int
    var queryTaskID: String
    var queryTaskCount: Int
    var lz4Ratio: Double?

    enum CodingKeys: String, CodingKey {
        case n, seed, bytes
        case meanEventBytes = "mean_event_bytes"
        case distinctTasks = "distinct_tasks"
        case queryTaskID = "query_task_id"
        case queryTaskCount = "query_task_count"
        case lz4Ratio = "lz4_ratio"
    }
}

/// The benchmark's input, loaded into memory once before anything is timed: the raw JSONL bytes (for the
/// file peers), the `EventDraft`s (for aibrain) and the (stream, type, ts) columns (for SQLite).
final class Workload {
    /// Where one event's columns sit in `arena`.
    struct PeerFields {
        var stream: Range<Int>
        var type: Range<Int>
        var ts: Range<Int>
    }

    let path: String
    let meta: WorkloadMeta
    /// The whole JSONL file.
    let bytes: [UInt8]
    /// Each line's range in `bytes`, without its newline.
    let lines: [Range<Int>]
    let drafts: [EventDraft]
    /// The SQLite columns of every event, back to back.
    let arena: [UInt8]
    let fields: [PeerFields]
    /// Input indexes of each stream's events, oldest first.
    let streamEvents: [String: [Int]]
    /// Streams in order of first appearance (deterministic, unlike the dictionary).
    let streams: [String]

    var count: Int { drafts.count }

    private init(path: String, meta: WorkloadMeta, bytes: [UInt8]) throws {
        self.path = path
        self.meta = meta
        self.bytes = bytes
        var lines: [Range<Int>] = []
        lines.reserveCapacity(meta.n)
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lines.append(start..<i)
            start = i + 1
        }
        guard start == bytes.count else { throw BenchError("\(path): the last line has no newline") }
        self.lines = lines
        var drafts: [EventDraft] = []
        drafts.reserveCapacity(lines.count)
        var arena: [UInt8] = []
        var fields: [PeerFields] = []
        fields.reserveCapacity(lines.count)
        var streamEvents: [String: [Int]] = [:]
        var streams: [String] = []
        for (i, r) in lines.enumerated() {
            let d = try EventJSON.draft(fromLine: Array(bytes[r]), lineNumber: i + 1)
            func put(_ s: String) -> Range<Int> {
                let a = arena.count
                arena += s.utf8
                return a..<arena.count
            }
            fields.append(PeerFields(stream: put(d.stream), type: put(d.type), ts: put(d.occurredAt)))
            if streamEvents[d.stream] == nil { streams.append(d.stream) }
            streamEvents[d.stream, default: []].append(i)
            drafts.append(d)
        }
        self.drafts = drafts
        self.arena = arena
        self.fields = fields
        self.streamEvents = streamEvents
        self.streams = streams
    }

    /// Generates the workload with `gen_events.py` (seed 42) unless `dir` already holds it for this `n`,
    /// then loads it.
    static func load(events n: Int, dir: String, generator: String) throws -> Workload {
        let path = dir + "/events-\(n).jsonl"
        let metaPath = path + ".meta.json"
        if let meta = try? readMeta(metaPath), meta.n == n, meta.seed == 42, fileSize(path) == meta.bytes {
            progress("reusing \(path)")
        } else {
            guard FileManager.default.isReadableFile(atPath: generator) else {
                throw BenchError("the workload generator is not at \(generator) (pass --generator PATH)")
            }
            try? FileManager.default.removeItem(atPath: metaPath)
            progress("generating \(n) events into \(path) (gen_events.py, seed 42; takes a while)")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", generator, String(n), path, "--seed", "42"]
            p.standardOutput = FileHandle.standardError
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw BenchError("gen_events.py exited with status \(p.terminationStatus)")
            }
        }
        let meta = try readMeta(metaPath)
        let start = MonotonicClock.nanoseconds()
        let bytes: [UInt8]
        do { bytes = try PosixFileSystem().readFile(path) } catch { throw BenchError("reading \(path): \(error)") }
        let w = try Workload(path: path, meta: meta, bytes: bytes)
        guard w.count == n else { throw BenchError("\(path) holds \(w.count) events, expected \(n)") }
        progress(
            "loaded \(n) events (\(bytes.count) bytes) in \(fixed(Double(MonotonicClock.nanoseconds() - start) / 1e9, 1)) s"
        )
        return w
    }

    private static func readMeta(_ path: String) throws -> WorkloadMeta {
        try JSONDecoder().decode(WorkloadMeta.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private static func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    /// The workload's bytes as raw pointers, for timed loops that must not pay array bounds checks or
    /// reference counting. The pointers are valid only inside `body`.
    struct Memory {
        let bytes: UnsafeRawBufferPointer
        let lines: UnsafeBufferPointer<Range<Int>>
        let fields: UnsafeBufferPointer<PeerFields>
        let arena: UnsafeRawBufferPointer

        /// Line `i` without its newline.
        @inline(__always) func lineBytes(_ i: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[lines[i]])
        }

        /// Lines `range`, each with its newline, as they lie in the file.
        @inline(__always) func linesWithNewlines(_ range: Range<Int>) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(
                rebasing: bytes[lines[range.lowerBound].lowerBound..<lines[range.upperBound - 1].upperBound + 1])
        }

        @inline(__always) func arenaBytes(_ r: Range<Int>) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: arena[r])
        }
    }

    func withMemory<R>(_ body: (Memory) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { b in
            try lines.withUnsafeBufferPointer { l in
                try fields.withUnsafeBufferPointer { f in
                    try arena.withUnsafeBytes { a in
                        try body(Memory(bytes: b, lines: l, fields: f, arena: a))
                    }
                }
            }
        }
    }
}

/// A harness failure (bad option, missing generator, a check that cannot run), printed as is.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Progress goes to stderr so stdout holds only the report.
func progress(_ s: String) {
    FileHandle.standardError.write(Data(("[aibrain-bench] " + s + "\n").utf8))
}
