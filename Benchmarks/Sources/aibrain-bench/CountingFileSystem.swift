import EventLog
import Synchronization

/// `PosixFileSystem` with counters on the two sync calls, so the report can show how many fdatasyncs an
/// acknowledgement costs (group commit promises exactly one per commit in steady state; directory fsyncs
/// happen only when a segment is created, sealed or removed). Everything else is forwarded unchanged.
final class CountingFileSystem: FileSystem {
    let base = PosixFileSystem()
    let fdatasyncs = Atomic<Int>(0)
    let fsyncs = Atomic<Int>(0)

    /// (fdatasyncs, fsyncs) so far.
    var counts: (fdatasyncs: Int, fsyncs: Int) {
        (fdatasyncs.load(ordering: .relaxed), fsyncs.load(ordering: .relaxed))
    }

    func fdatasync(_ fd: FileDescriptor) throws(SystemError) {
        fdatasyncs.add(1, ordering: .relaxed)
        try base.fdatasync(fd)
    }

    func fsync(_ fd: FileDescriptor) throws(SystemError) {
        fsyncs.add(1, ordering: .relaxed)
        try base.fsync(fd)
    }

    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> FileDescriptor { try base.open(path, mode) }
    func close(_ fd: FileDescriptor) { base.close(fd) }
    func pwrite(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try base.pwrite(fd, bytes, at: offset)
    }
    func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    {
        try base.pread(fd, into: buffer, at: offset)
    }
    func size(_ fd: FileDescriptor) throws(SystemError) -> Int64 { try base.size(fd) }
    func truncate(_ fd: FileDescriptor, to size: Int64) throws(SystemError) { try base.truncate(fd, to: size) }
    func lock(_ fd: FileDescriptor, nonBlocking: Bool) throws(SystemError) -> Bool {
        try base.lock(fd, nonBlocking: nonBlocking)
    }
    func unlock(_ fd: FileDescriptor) { base.unlock(fd) }
    func rename(_ from: String, _ to: String) throws(SystemError) { try base.rename(from, to) }
    func link(_ from: String, _ to: String) throws(SystemError) { try base.link(from, to) }
    func unlink(_ path: String) throws(SystemError) { try base.unlink(path) }
    func makeDirectory(_ path: String) throws(SystemError) { try base.makeDirectory(path) }
    func listDirectory(_ path: String) throws(SystemError) -> [String] { try base.listDirectory(path) }
    func stat(_ path: String) throws(SystemError) -> FileStatus? { try base.stat(path) }
    func setMode(_ path: String, _ mode: UInt32) throws(SystemError) { try base.setMode(path, mode) }
}
