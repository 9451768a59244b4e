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
///
/// Its stdout is a file, not a pipe: other children started meanwhile by other test threads inherit a pipe's
/// write end, so the end of a pipe can come long after this process exits (a loaded CI machine showed it: the
/// stopped tail's last flushed lines were read after the test had given up). A file holds everything the
/// process wrote the moment it exits.
final class RunningCommand: @unchecked Sendable {
    let process = Process()
    private let path = NSTemporaryDirectory() + "aibrain-running-\(UUID().uuidString).out"

    init(_ args: [String], cwd: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: aibrainBinary)
        process.arguments = args
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The complete lines written so far.
    private func lines() -> [String] {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        guard let last = data.lastIndex(of: 0x0A) else { return [] }
        return data[..<last].split(separator: 0x0A, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// Waits until at least `count` lines arrived (or the timeout, or the exit); returns all lines so far.
    func waitForLines(_ count: Int, timeout: TimeInterval = 20) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = lines()
        while seen.count < count && process.isRunning && Date() < deadline {
            usleep(20_000)
            seen = lines()
        }
        return seen
    }

    /// Sends `signal` and waits for the exit; returns every line printed, and the exit status.
    func stop(_ signal: Int32) -> (lines: [String], status: Int32) {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return (lines(), process.terminationStatus)
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
