/// The seam every durable file operation goes through.
///
/// Rule: no module of aibrain touches a durable file except through a `FileSystem` (no FileManager,
/// no `Data.write`, no `fopen`). Why: the crash model (`StorageTesting.SimulatedFileSystem`) can only
/// test what passes through here. What happens if broken: a write path that bypasses the seam is never
/// crash-tested and may lose acknowledged data after a power cut. A test (`SourceHygieneTests`) greps
/// `Sources/` for the forbidden APIs.
///
/// Semantics follow POSIX on Linux (ext4): writes become durable only after `fdatasync`/`fsync` of the
/// file; a new, renamed or removed directory entry becomes durable only after `fsync` of its directory.
/// After a failed fsync the written data must be treated as lost (fsyncgate, PostgreSQL 2018): callers
/// never retry-and-continue.
public protocol FileSystem: Sendable {
    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> FileDescriptor
    func close(_ fd: FileDescriptor)
    /// Writes some prefix of `bytes` (short writes happen); use `writeAll`.
    func pwrite(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(SystemError) -> Int
    /// Reads up to `buffer.count` bytes; 0 means end of file. Use `readFully`.
    func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    func fdatasync(_ fd: FileDescriptor) throws(SystemError)
    /// fsync; on a directory descriptor this makes its entries durable.
    func fsync(_ fd: FileDescriptor) throws(SystemError)
    func size(_ fd: FileDescriptor) throws(SystemError) -> Int64
    func truncate(_ fd: FileDescriptor, to size: Int64) throws(SystemError)
    /// `flock`-style advisory lock on an open file description. Returns false if `nonBlocking` and held.
    func lock(_ fd: FileDescriptor, nonBlocking: Bool) throws(SystemError) -> Bool
    func unlock(_ fd: FileDescriptor)
    func rename(_ from: String, _ to: String) throws(SystemError)
    func link(_ from: String, _ to: String) throws(SystemError)
    func unlink(_ path: String) throws(SystemError)
    func makeDirectory(_ path: String) throws(SystemError)
    func listDirectory(_ path: String) throws(SystemError) -> [String]
    /// nil when the path does not exist.
    func stat(_ path: String) throws(SystemError) -> FileStatus?
    func setMode(_ path: String, _ mode: UInt32) throws(SystemError)
    /// Maps the first `count` bytes of a file read-only, or nil when this file system does not map (the
    /// caller then reads). The file must not shrink below `count` while the mapping lives (SIGBUS): callers
    /// map only what no other process truncates (see `SegmentBytes`).
    func mapReadOnly(_ fd: FileDescriptor, count: Int) -> MappedFile?
}

extension FileSystem {
    public func mapReadOnly(_ fd: FileDescriptor, count: Int) -> MappedFile? { nil }
}

/// A read-only mapping, unmapped when released.
public final class MappedFile: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let unmap: (UnsafeRawBufferPointer) -> Void

    public init(bytes: UnsafeRawBufferPointer, unmap: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.bytes = bytes
        self.unmap = unmap
    }

    deinit { unmap(bytes) }
}

public struct FileDescriptor: Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
}

public enum OpenMode: Sendable, Equatable {
    case readOnly
    case readWrite
    /// Create; fails with EEXIST if present (O_CREAT|O_EXCL). Mode bits as given.
    case createExclusive(permissions: UInt32)
    /// Create if absent, keep contents otherwise.
    case createOrOpen(permissions: UInt32)
    case directory
}

public struct FileStatus: Sendable, Equatable {
    public var size: Int64
    public var inode: UInt64
    public var isDirectory: Bool
    public var permissions: UInt32
    /// Last data modification, Unix milliseconds (0 where the file system keeps no times: the simulation).
    public var modifiedAt: Int64
    public init(size: Int64, inode: UInt64, isDirectory: Bool, permissions: UInt32, modifiedAt: Int64 = 0) {
        self.size = size
        self.inode = inode
        self.isDirectory = isDirectory
        self.permissions = permissions
        self.modifiedAt = modifiedAt
    }
}

/// A failed system call: which call, on what path, and the errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call)(\(path)): \(Self.name(errno))" }

    /// Symbolic errno names for the errors users meet; strerror text for the rest.
    public static func name(_ code: Int32) -> String {
        switch code {
        case 2: return "ENOENT (no such file or directory)"
        case 5: return "EIO (input/output error)"
        case 11: return "EWOULDBLOCK (resource temporarily unavailable)"
        case 13: return "EACCES (permission denied)"
        case 17: return "EEXIST (file exists)"
        case 28: return "ENOSPC (no space left on device)"
        case 30: return "EROFS (read-only file system)"
        case 122: return "EDQUOT (disk quota exceeded)"
        default: return "errno \(code)"
        }
    }
}

extension FileSystem {
    /// Loops on short writes until every byte is written (swift-system `writeAll(toAbsoluteOffset:)`).
    public func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int64)
        throws(SystemError)
    {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let n = try pwrite(fd, rest, at: offset + Int64(done))
            precondition(n > 0 && n <= rest.count, "pwrite returned \(n) for \(rest.count) bytes")
            done += n
        }
    }

    public func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8], at offset: Int64) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(fd, raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads until `buffer` is full or end of file; returns the number of bytes read.
    public func readFully(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let n = try pread(
                fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads `count` bytes at `offset` (fewer at end of file).
    public func read(_ fd: FileDescriptor, count: Int, at offset: Int64) throws(SystemError) -> [UInt8] {
        // Uninitialized: zero-filling a large buffer just before reading over it was a quarter of the cost
        // of opening a writer on a full open segment (perf, `aibrain emit`).
        var failure: SystemError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(SystemError) {
                initialized = try readFully(fd, into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Reads a whole file by path.
    public func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try open(path, .readOnly)
        defer { close(fd) }
        return try read(fd, count: Int(try size(fd)), at: 0)
    }

    /// Contract 5: tmp → write → fsync → rename → fsync(dir). The file is either the old or the new one
    /// after a crash, never a mix. Writers that may race (projection snapshots and handoff files are written
    /// by any command) pass a `tmpSuffix` unique to the process, so one never renames another's half file.
    public func writeFileAtomically(
        _ path: String, _ bytes: [UInt8], permissions: UInt32 = 0o644, tmpSuffix: String = ".tmp"
    ) throws(SystemError) {
        let dir = directoryName(of: path)
        let tmp = path + tmpSuffix
        if try stat(tmp) != nil { try unlink(tmp) }
        let fd = try open(tmp, .createExclusive(permissions: permissions))
        do {
            try writeAll(fd, bytes, at: 0)
            try fsync(fd)
        } catch {
            close(fd)
            try? unlink(tmp)
            throw error
        }
        close(fd)
        try rename(tmp, path)
        try fsyncDirectory(dir)
    }

    public func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, .directory)
        defer { close(fd) }
        try fsync(fd)
    }

    /// Creates every missing directory of `path`, fsyncing each parent after a creation.
    public func makeDirectories(_ path: String) throws(SystemError) {
        if let st = try stat(path) {
            if st.isDirectory { return }
            throw SystemError(call: "mkdir", path: path, errno: 17)
        }
        let parent = directoryName(of: path)
        if parent != path { try makeDirectories(parent) }
        do { try makeDirectory(path) } catch  where error.errno == 17 { return }
        try fsyncDirectory(parent)
    }
}

/// `dirname` for our absolute or relative paths ("a/b" → "a", "b" → ".").
public func directoryName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

public func lastPathComponent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
