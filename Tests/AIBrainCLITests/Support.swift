import Foundation
import StorageTesting
import Testing

@testable import AIBrainCLI
@testable import EventLog

/// The built `aibrain` binary (`make test` builds it before the tests run).
let aibrainBinary: String = {
    // $AIBRAIN_BINARY: a build in another scratch path (`swift build --scratch-path`).
    let path = ProcessInfo.processInfo.environment["AIBRAIN_BINARY"] ?? packageRoot + "/.build/debug/aibrain"
    if !FileManager.default.isExecutableFile(atPath: path) {
        Issue.record("\(path) is missing: run `swift build` first (make test does)")
    }
    return path
}()

/// What a finished command printed and returned.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// stdout parsed as one JSON object.
    func json() throws -> [String: Any] {
        let any = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        guard let o = any as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
        return o
    }
}

/// Runs `aibrain` to completion, as a user's shell would.
@discardableResult
func aibrain(
    _ args: [String], cwd: String? = nil, stdin: String? = nil, environment: [String: String] = [:]
) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: aibrainBinary)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "AIBRAIN_STORE")
    env.removeValue(forKey: "AIBRAIN_ACTOR")
    env.removeValue(forKey: "AIBRAIN_TEAM")
    for (k, v) in environment { env[k] = v }
    p.environment = env
    // Output goes to files, not pipes: nothing has to drain them while the child runs, so tests can run
    // many children at once without a reader thread each.
    let scratch = NSTemporaryDirectory() + "aibrain-run-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: scratch + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch + ".err", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch + ".in", contents: Data((stdin ?? "").utf8))
    defer { for s in [".out", ".err", ".in"] { try? FileManager.default.removeItem(atPath: scratch + s) } }
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".out"))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".err"))
    p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: scratch + ".in"))
    try p.run()
    p.waitUntilExit()
    let outData = try Data(contentsOf: URL(fileURLWithPath: scratch + ".out"))
    let errData = try Data(contentsOf: URL(fileURLWithPath: scratch + ".err"))
    return CommandResult(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs `body(0..<n)` on `n` threads at once and waits for all (no GCD pool: children block on I/O).
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    for i in 0..<n {
        let t = Thread {
            body(i)
            done.signal()
        }
        t.start()
    }
    for _ in 0..<n { done.wait() }
}

/// A long-running `aibrain` (tail -f) whose stdout is read line by line as it arrives.
final class RunningCommand: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()
    private let lock = NSCondition()
    private var buffer = Data()
    private var received: [String] = []
    private var closed = false

    init(_ args: [String], cwd: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: aibrainBinary)
        process.arguments = args
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.append(d)
        }
        try process.run()
    }

    private func append(_ d: Data) {
        lock.lock()
        defer { lock.unlock() }
        if d.isEmpty {
            closed = true
            out.fileHandleForReading.readabilityHandler = nil
        }
        buffer += d
        while let nl = buffer.firstIndex(of: 0x0A) {
            received.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
            buffer = Data(buffer[(nl + 1)...])
        }
        lock.broadcast()
    }

    /// Waits until at least `count` lines arrived (or the timeout); returns all lines so far.
    func waitForLines(_ count: Int, timeout: TimeInterval = 20) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while received.count < count && !closed && Date() < deadline {
            _ = lock.wait(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
        return received
    }

    /// Sends `signal` and waits for the exit; returns every line printed, and the exit status.
    func stop(_ signal: Int32) -> (lines: [String], status: Int32) {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        lock.lock()
        // The pipe's last bytes can reach the reading handler well after the exit on a loaded machine (a fresh
        // clone's build on the other core): wait for the end of the stream, not a short deadline (with 5 s, one
        // CI-like run lost the tail's last flushed batch and reported a gap that the cursor did not have).
        let deadline = Date().addingTimeInterval(60)
        while !closed && Date() < deadline { _ = lock.wait(until: Date().addingTimeInterval(0.05)) }
        if !closed { Issue.record("the command's output did not end within 60 s of its exit") }
        let lines = received
        lock.unlock()
        return (lines, process.terminationStatus)
    }
}

/// A fresh store in a fresh project directory; returns (project dir, store path).
func makeStore(_ name: String = #function, origin: String = "test") throws -> (dir: String, store: String) {
    let dir = temporaryDirectory(name)
    let r = try aibrain(["init", "--origin", origin], cwd: dir)
    #expect(r.status == 0, "init failed: \(r.stderr)")
    return (dir, dir + "/.aibrain")
}

/// Parses JSON-lines output.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        return o
    }
}
