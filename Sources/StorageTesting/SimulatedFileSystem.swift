import EventLog
import Synchronization

/// A deterministic, seeded, in-memory `FileSystem` that injects faults and simulates power cuts.
///
/// What it models, and why. The engine's durability promises are claims about what survives a crash, and a
/// real disk almost never shows the bad cases, so the crash tests run against this model instead
/// (`../shared/STYLE.md` point 11). It follows SQLite's `src/test6.c` (unsynced writes dropped, written or
/// torn at sector granularity on a simulated crash), RocksDB's `utilities/fault_injection_fs.h`
/// (`FaultInjectionTestFS`: unsynced file data and directory entries created since the last directory fsync
/// are lost) and TigerBeetle's `src/testing/storage.zig` (every fault drawn from a seed, so a failing seed is a
/// regression test).
///
/// - **Two copies of everything.** Each file has `volatile` bytes (what reads see) and `durable` bytes (what
///   survives a crash), plus the ordered list of writes and truncations since its last successful
///   `fsync`/`fdatasync`, which make `durable = volatile`. Each directory has volatile and durable entries;
///   `open` with create, `rename`, `link`, `unlink` and `makeDirectory` change only the volatile ones, and only
///   `fsync` of the directory makes them durable (POSIX `fsync(2)`: "an explicit fsync() on a file descriptor
///   for the directory is also needed"). `fsync` also makes mode bits durable; `fdatasync` does not.
/// - **POSIX errno semantics** as Linux reports them: ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL,
///   EBADF (write through a read-only descriptor or a stale one). `rename` replaces its target atomically; an
///   unlinked file stays usable through descriptors already open on it. Paths are normalized ("//", ".",
///   "..", trailing "/"); relative paths are relative to "/", which always exists. Mode bits are stored and
///   reported by `stat` but never enforced (tests run as the owner). `listDirectory` is sorted. Descriptor
///   numbers are never reused, so a stale descriptor is EBADF rather than another file.
/// - **`crash()`** is the power cut and the reboot: see `SimulatedVolume.crash()` for the exact rules (each
///   unsynced write dropped, kept or torn; each unsynced truncation kept or not; each changed directory entry
///   kept or reverted, the two halves of a rename together; unreachable files freed).
/// - **Crash points.** `crashAfterOperations = n` lets `n` mutating calls (pwrite, fdatasync, fsync,
///   ftruncate, rename, link, unlink, mkdir, open with a create mode, chmod, whether they succeed or fail) run;
///   the next one and every later call of any kind throws `crashErrno`, as if the machine had died inside the
///   code under test. The test then calls `crash()` and carries on with the same object. Run a workload once
///   to read `mutatingOperationCount`, then crash it at every point `0...count`.
/// - **Faults** (`faultPlan`): EIO on fsync, ENOSPC/EIO on pwrite (nothing written), short writes. A failed
///   fsync follows Linux since 4.13 as found in "fsyncgate" (PostgreSQL, 2018; LWN "PostgreSQL's fsync()
///   surprise"; Rebello et al., "Can applications recover from fsync failures?", USENIX ATC 2020): the error is
///   reported once, the dirty pages are marked clean, so the file's unsynced writes stay readable but are
///   not durable, a later fsync that succeeds does not write them either, and the next crash loses them
///   unless they were rewritten. The only correct reaction is the one `FileSystem` prescribes: treat the data
///   as lost, never retry-and-continue.
/// - **Locks.** `lock` is `flock(2)`: per open file description, so a second `open` of the same file gets
///   `false` from `lock(nonBlocking: true)` while the first holds it. Because one test drives this object
///   from one thread of control, `lock(nonBlocking: false)` on a held lock throws EWOULDBLOCK (11) instead
///   of waiting forever. `close` releases; `crash()` forgets all locks.
/// - **Determinism.** All choices come from `SplitMix64(seed:)` and inodes and names are visited in sorted
///   order: the same seed and the same sequence of calls give the same bytes, entries and `faultLog`.
///
/// Thread safety: every call takes one `Mutex`, so the object can be shared (the protocol is `Sendable`), but
/// interleavings between threads are not part of what a seed reproduces.
public final class SimulatedFileSystem: FileSystem, Sendable {
    /// The errno every call throws once the machine is dead (past the crash point): not a real errno, so the
    /// code under test cannot mistake it for a condition it handles.
    public static let crashErrno: Int32 = 9999

    public let seed: UInt64
    private let volume: Mutex<SimulatedVolume>

    public init(seed: UInt64) {
        self.seed = seed
        self.volume = Mutex(SimulatedVolume(seed: seed))
    }

    private func perform<T: Sendable>(_ body: (inout SimulatedVolume) throws(SystemError) -> T) throws(SystemError)
        -> T
    {
        try volume.withLock { (state: inout sending SimulatedVolume) throws(SystemError) -> T in try body(&state) }
    }

    private func inspect<T: Sendable>(_ body: (inout SimulatedVolume) -> T) -> T {
        volume.withLock { (state: inout sending SimulatedVolume) -> T in body(&state) }
    }

    // MARK: - Crash control

    /// The number of mutating calls allowed to run; the next one and everything after it throws `crashErrno`.
    /// nil (the default) never crashes. Counted in `mutatingOperationCount` units, from the object's creation.
    public var crashAfterOperations: Int? {
        get { inspect { $0.crashAfterOperations } }
        set { inspect { $0.crashAfterOperations = newValue } }
    }

    /// Arms the crash point `operations` mutating calls from now.
    public func armCrash(afterOperations operations: Int) {
        precondition(operations >= 0, "armCrash(afterOperations:) needs a non-negative count")
        inspect { $0.crashAfterOperations = $0.mutatingOperationCount + operations }
    }

    /// True between hitting the crash point and calling `crash()`.
    public var isCrashed: Bool { inspect { $0.isCrashed } }

    /// Mutating calls made so far (including failed ones and the one that hit the crash point); never reset.
    public var mutatingOperationCount: Int { inspect { $0.mutatingOperationCount } }

    /// Power cut and reboot: see the type's documentation. Afterwards volatile = durable = the post-crash
    /// state, every descriptor is invalid (EBADF), every lock is released, the crash point is disarmed and
    /// `isCrashed` is false. The fault plan stays (a failing disk is still failing after a reboot).
    public func crash() {
        inspect { $0.crash() }
    }

    /// `kill -9` of the process that was running when the crash point hit: unlike `crash()`, the machine keeps
    /// running, so nothing is lost (volatile stays what reads see; the page cache survives a killed process).
    /// Every lock is released (in a test only the process working at the crash point holds one); descriptors
    /// stay valid, and the test drops the dead process's objects without calling them again. The crash point
    /// is disarmed and `isCrashed` is false.
    public func kill() {
        inspect { $0.kill() }
    }

    // MARK: - Faults

    /// Faults to inject from now on; rules keep their counters while installed.
    public var faultPlan: FaultPlan {
        get { inspect { $0.faultPlan } }
        set { inspect { $0.faultPlan = newValue } }
    }

    /// One line per injected fault, short write, crash point hit and crash, each naming the seed or the
    /// operation number: enough to turn a failure into a one-line repro.
    public var faultLog: [String] { inspect { $0.faultLog } }

    // MARK: - Inspection for tests (never gated by the crash point)

    /// What reads see now, or nil when `path` is missing or a directory.
    public func contents(of path: String) -> [UInt8]? {
        inspect { state in
            guard let inode = state.lookup(SimulatedVolume.components(path)[...]).inode,
                let node = state.inodes[inode], !node.isDirectory
            else { return nil }
            return node.volatile
        }
    }

    /// What a crash now would keep at the least: the durable bytes of the file reached through durable
    /// directory entries; nil when that path is not durable or is a directory.
    public func durableContents(of path: String) -> [UInt8]? {
        inspect { state in
            guard let inode = state.lookup(SimulatedVolume.components(path)[...], durable: true).inode,
                let node = state.inodes[inode], !node.isDirectory
            else { return nil }
            return node.durable
        }
    }

    /// Whether `path` exists now (volatile entries); a file or a directory.
    public func exists(_ path: String) -> Bool {
        inspect { $0.lookup(SimulatedVolume.components(path)[...]).inode != nil }
    }

    /// Descriptors currently open: lets a test check that the code under test closes what it opens.
    public var openDescriptorCount: Int { inspect { $0.descriptors.count } }

    // MARK: - FileSystem

    public func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> FileDescriptor {
        try perform { state throws(SystemError) in try state.open(path, mode) }
    }

    public func close(_ fd: FileDescriptor) {
        inspect { $0.close(fd) }
    }

    public func pwrite(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    {
        let copy = [UInt8](bytes)
        return try perform { state throws(SystemError) in try state.pwrite(fd, copy, at: offset) }
    }

    public func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemError) -> Int
    {
        let count = buffer.count
        let bytes = try perform { state throws(SystemError) in try state.pread(fd, count: count, at: offset) }
        buffer.copyBytes(from: bytes)
        return bytes.count
    }

    public func fdatasync(_ fd: FileDescriptor) throws(SystemError) {
        try perform { state throws(SystemError) in try state.sync(fd, call: "fdatasync", metadata: false) }
    }

    public func fsync(_ fd: FileDescriptor) throws(SystemError) {
        try perform { state throws(SystemError) in try state.sync(fd, call: "fsync", metadata: true) }
    }

    public func size(_ fd: FileDescriptor) throws(SystemError) -> Int64 {
        try perform { state throws(SystemError) in try state.size(fd) }
    }

    public func truncate(_ fd: FileDescriptor, to size: Int64) throws(SystemError) {
        try perform { state throws(SystemError) in try state.truncate(fd, to: size) }
    }

    /// `flock(LOCK_EX)`. Held by another descriptor: `false` when `nonBlocking`, else throws EWOULDBLOCK (11)
    /// rather than deadlocking the single-threaded test.
    public func lock(_ fd: FileDescriptor, nonBlocking: Bool) throws(SystemError) -> Bool {
        try perform { state throws(SystemError) in try state.lock(fd, nonBlocking: nonBlocking) }
    }

    public func unlock(_ fd: FileDescriptor) {
        inspect { $0.unlock(fd) }
    }

    public func rename(_ from: String, _ to: String) throws(SystemError) {
        try perform { state throws(SystemError) in try state.rename(from, to) }
    }

    public func link(_ from: String, _ to: String) throws(SystemError) {
        try perform { state throws(SystemError) in try state.link(from, to) }
    }

    public func unlink(_ path: String) throws(SystemError) {
        try perform { state throws(SystemError) in try state.unlink(path) }
    }

    /// `mkdir(path, 0o755)`.
    public func makeDirectory(_ path: String) throws(SystemError) {
        try perform { state throws(SystemError) in try state.makeDirectory(path) }
    }

    public func listDirectory(_ path: String) throws(SystemError) -> [String] {
        try perform { state throws(SystemError) in try state.listDirectory(path) }
    }

    public func stat(_ path: String) throws(SystemError) -> FileStatus? {
        try perform { state throws(SystemError) in try state.stat(path) }
    }

    public func setMode(_ path: String, _ mode: UInt32) throws(SystemError) {
        try perform { state throws(SystemError) in try state.setMode(path, mode) }
    }
}
