import EventLog
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// What every test target needs from the machine: the package root, scratch directories, tools, pinned
// fixtures. One copy here (through the FileSystem seam, as everything under Sources/ must).

/// The package root (fixtures/, schemas/, Tests/): three levels above this file.
public let packageRoot: String = directoryName(of: directoryName(of: directoryName(of: #filePath)))

/// A fresh private directory under $TMPDIR for tests on the real file system, named after the test.
public func temporaryDirectory(_ name: String = #function) -> String {
    let safe = String(name.filter { $0.isLetter || $0.isNumber }.prefix(60))
    let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    var template = Array((base + "/aibrain-test-\(safe)-XXXXXX").utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fatalError("cannot create a scratch directory in \(base): \(String(cString: strerror(errno)))")
    }
    return String(cString: p)
}

/// A tool a test needs and `make deps` installs. Thrown (a test failure naming it), never skipped.
public struct ToolMissing: Error, CustomStringConvertible {
    public let name: String
    public var description: String {
        "\(name) is not installed: run `make deps` (it installs everything the tests need)"
    }
}

/// The path of a command on PATH.
public func requireTool(_ name: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 { return "\(dir)/\(name)" }
    throw ToolMissing(name: name)
}

/// The pinned bytes of `fixtures/<relative>`. With `AIBRAIN_UPDATE_FIXTURES=1`, `current` is written there
/// first (then review the diff): formats and output that are API change only on purpose.
public func pinnedFixture(_ relative: String, current: [UInt8]) throws -> [UInt8] {
    let fs = PosixFileSystem()
    let path = packageRoot + "/fixtures/" + relative
    if ProcessInfo.processInfo.environment["AIBRAIN_UPDATE_FIXTURES"] == "1" {
        try fs.makeDirectories(directoryName(of: path))
        try fs.writeFileAtomically(path, current)
    }
    return try fs.readFile(path)
}

/// The pinned text of `fixtures/<relative>` (see the bytes form).
public func pinnedFixture(_ relative: String, current: String) throws -> String {
    String(decoding: try pinnedFixture(relative, current: Array(current.utf8)), as: UTF8.self)
}

/// Reproducible segment ids for golden files: `first`, 14 zero bytes, then a counter from 1.
public final class CountingSegmentIDs: @unchecked Sendable {
    private let lock = NSLock()
    private let first: UInt8
    private var n: UInt8 = 0

    public init(first: UInt8 = 0) { self.first = first }

    /// For `OpenOptions.segmentIDs`.
    public var function: @Sendable () -> [UInt8] {
        { [self] in
            lock.lock()
            defer { lock.unlock() }
            n &+= 1
            return [first] + [UInt8](repeating: 0, count: 14) + [n]
        }
    }
}
