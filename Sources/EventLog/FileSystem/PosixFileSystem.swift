#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The real file system: thin wrappers over the syscalls, EINTR retried in one place (`retryingEINTR`).
public struct PosixFileSystem: FileSystem {
    public init() {}

    /// Retries a call that failed with EINTR; every syscall here goes through it (swift-system `valueOrErrno`).
    @inline(__always)
    private func retryingEINTR<T: BinaryInteger>(_ call: String, _ path: String, _ body: () -> T)
        throws(SystemError) -> T
    {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e == EINTR { continue }
            throw SystemError(call: call, path: path, errno: e)
        }
    }

    public func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> FileDescriptor {
        let fd: Int32
        switch mode {
        case .readOnly:
            fd = try retryingEINTR("open", path) { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        case .readWrite:
            fd = try retryingEINTR("open", path) { Glibc.open(path, O_RDWR | O_CLOEXEC) }
        case .createExclusive(let permissions):
            fd = try retryingEINTR("open", path) {
                Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
            }
        case .createOrOpen(let permissions):
            fd = try retryingEINTR("open", path) {
                Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode_t(permissions))
            }
        case .directory:
            fd = try retryingEINTR("open", path) { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        }
        return FileDescriptor(rawValue: fd)
    }

    public func close(_ fd: FileDescriptor) {
        // close() must not be retried on EINTR on Linux: the descriptor is released either way.
        _ = Glibc.close(fd.rawValue)
    }

    public func pwrite(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    {
        try retryingEINTR("pwrite", "fd \(fd.rawValue)") {
            Glibc.pwrite(fd.rawValue, bytes.baseAddress, bytes.count, off_t(offset))
        }
    }

    public func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    {
        try retryingEINTR("pread", "fd \(fd.rawValue)") {
            Glibc.pread(fd.rawValue, buffer.baseAddress, buffer.count, off_t(offset))
        }
    }

    /// mmap(2) with MAP_POPULATE: the pages of a file in the page cache are mapped in one call, with no
    /// copy and no zero-filled pages (reading a 16 MiB open segment into fresh memory was a third of an
    /// `aibrain emit`).
    public func mapReadOnly(_ fd: FileDescriptor, count: Int) -> MappedFile? {
        guard count > 0 else { return nil }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.rawValue, 0)
        guard let p, p != MAP_FAILED else { return nil }
        return MappedFile(bytes: UnsafeRawBufferPointer(start: p, count: count)) { b in
            _ = munmap(UnsafeMutableRawPointer(mutating: b.baseAddress), b.count)
        }
    }

    public func fdatasync(_ fd: FileDescriptor) throws(SystemError) {
        _ = try retryingEINTR("fdatasync", "fd \(fd.rawValue)") { Glibc.fdatasync(fd.rawValue) }
    }

    public func fsync(_ fd: FileDescriptor) throws(SystemError) {
        _ = try retryingEINTR("fsync", "fd \(fd.rawValue)") { Glibc.fsync(fd.rawValue) }
    }

    public func size(_ fd: FileDescriptor) throws(SystemError) -> Int64 {
        var st = Glibc.stat()
        _ = try retryingEINTR("fstat", "fd \(fd.rawValue)") { fstat(fd.rawValue, &st) }
        return Int64(st.st_size)
    }

    public func truncate(_ fd: FileDescriptor, to size: Int64) throws(SystemError) {
        _ = try retryingEINTR("ftruncate", "fd \(fd.rawValue)") { ftruncate(fd.rawValue, off_t(size)) }
    }

    public func lock(_ fd: FileDescriptor, nonBlocking: Bool) throws(SystemError) -> Bool {
        let op = LOCK_EX | (nonBlocking ? LOCK_NB : 0)
        while true {
            if flock(fd.rawValue, op) == 0 { return true }
            let e = errno
            if e == EINTR { continue }
            if e == EWOULDBLOCK && nonBlocking { return false }
            throw SystemError(call: "flock", path: "fd \(fd.rawValue)", errno: e)
        }
    }

    public func unlock(_ fd: FileDescriptor) {
        _ = flock(fd.rawValue, LOCK_UN)
    }

    public func rename(_ from: String, _ to: String) throws(SystemError) {
        _ = try retryingEINTR("rename", "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    public func link(_ from: String, _ to: String) throws(SystemError) {
        _ = try retryingEINTR("link", "\(from) -> \(to)") { Glibc.link(from, to) }
    }

    public func unlink(_ path: String) throws(SystemError) {
        _ = try retryingEINTR("unlink", path) { Glibc.unlink(path) }
    }

    public func makeDirectory(_ path: String) throws(SystemError) {
        _ = try retryingEINTR("mkdir", path) { mkdir(path, 0o755) }
    }

    public func listDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError(call: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func stat(_ path: String) throws(SystemError) -> FileStatus? {
        var st = Glibc.stat()
        while fstatat(AT_FDCWD, path, &st, 0) != 0 {
            let e = errno
            if e == EINTR { continue }
            if e == ENOENT || e == ENOTDIR { return nil }
            throw SystemError(call: "stat", path: path, errno: e)
        }
        return FileStatus(
            size: Int64(st.st_size), inode: UInt64(st.st_ino),
            isDirectory: (st.st_mode & S_IFMT) == S_IFDIR, permissions: UInt32(st.st_mode & 0o7777),
            modifiedAt: Int64(st.st_mtim.tv_sec) * 1000 + Int64(st.st_mtim.tv_nsec) / 1_000_000)
    }

    public func setMode(_ path: String, _ mode: UInt32) throws(SystemError) {
        _ = try retryingEINTR("chmod", path) { chmod(path, mode_t(mode)) }
    }
}
