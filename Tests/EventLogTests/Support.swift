import Foundation
import StorageTesting
import Testing

@testable import EventLog

let testOrigin = OriginID(hex: "0123456789abcdef0123456789abcdef")!

func draft(
    _ id: String, stream: String = "task/T-1", type: String = "test.event", team: String = "", payload: String? = nil
)
    -> EventDraft
{
    EventDraft(
        eventID: id, type: type, stream: stream, actor: "claude-dev-1", team: team,
        payload: Array((payload ?? "{\"id\":\"\(id)\",\"n\":1}").utf8))
}

/// A store on a simulated file system, at /s/.aibrain.
func simulatedStore(seed: UInt64, policies: StoreConfig.Policies = .init(), origin: OriginID = testOrigin) throws
    -> SimulatedFileSystem
{
    let fs = SimulatedFileSystem(seed: seed)
    try EventLog.create(at: "/s/.aibrain", name: "test", fs: fs, policies: policies, origin: origin)
    return fs
}

/// Runs a tool, returning exit status and stdout.
@discardableResult
func runTool(_ path: String, _ args: [String], stdin: Data? = nil) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// All events of a log, in LSN order.
func allEvents(_ log: EventLog) throws -> [Event] {
    var out: [Event] = []
    try log.read {
        out.append($0)
        return true
    }
    return out
}

/// Byte surgery on a simulated file: writes `bytes` at `offset` and syncs them (so a crash keeps them).
func overwriteDurably(_ fs: SimulatedFileSystem, _ path: String, _ bytes: [UInt8], at offset: Int64 = 0) throws {
    let fd = try fs.open(path, .readWrite)
    defer { fs.close(fd) }
    try fs.writeAll(fd, bytes, at: offset)
    try fs.fdatasync(fd)
}
