import EventLog

typealias InodeID = UInt64

/// Linux errno values (`asm-generic/errno-base.h`), spelled out so the model needs no libc.
/// The names are the C ones on purpose.
// swift-format-ignore: AlwaysUseLowerCamelCase
enum LinuxErrno {
    static let EPERM: Int32 = 1
    static let ENOENT: Int32 = 2
    static let EIO: Int32 = 5
    static let EBADF: Int32 = 9
    static let EWOULDBLOCK: Int32 = 11
    static let EBUSY: Int32 = 16
    static let EEXIST: Int32 = 17
    static let ENOTDIR: Int32 = 20
    static let EISDIR: Int32 = 21
    static let EINVAL: Int32 = 22
    static let EFBIG: Int32 = 27
    static let ENOSPC: Int32 = 28
    static let ENOTEMPTY: Int32 = 39
}

/// A write or truncation done since the file's last successful sync: what a crash may or may not keep.
struct UnsyncedChange {
    enum Kind {
        case write(offset: Int, bytes: [UInt8])
        case truncate(size: Int)
    }

    var kind: Kind
    /// Set when an fsync of the file failed while this change was pending (fsyncgate): the change stays in
    /// the page cache (reads see it) but no later fsync writes it, so a crash always loses it.
    var poisoned = false

    func apply(to content: inout [UInt8]) {
        switch kind {
        case .write(let offset, let bytes): Self.overwrite(&content, with: bytes[...], at: offset)
        case .truncate(let size): Self.resize(&content, to: size)
        }
    }

    /// `pwrite` semantics: a write past the end fills the gap with zeros.
    static func overwrite(_ content: inout [UInt8], with bytes: ArraySlice<UInt8>, at offset: Int) {
        if offset > content.count { content.append(contentsOf: repeatElement(0, count: offset - content.count)) }
        content.replaceSubrange(offset..<min(offset + bytes.count, content.count), with: bytes)
    }

    /// `ftruncate` semantics: shrink, or extend with zeros.
    static func resize(_ content: inout [UInt8], to size: Int) {
        if size < content.count {
            content.removeLast(content.count - size)
        } else {
            content.append(contentsOf: repeatElement(0, count: size - content.count))
        }
    }
}

/// A file or a directory. Every piece of state exists twice: what the running system sees (`volatile…`)
/// and what is on the platter (`durable…`); `crash()` throws the first away.
struct SimulatedInode {
    let isDirectory: Bool
    var permissions: UInt32
    /// Mode bits as of the last `fsync` (a `fdatasync` does not carry them, like `fdatasync(2)`).
    var durablePermissions: UInt32
    // Files.
    var volatile: [UInt8] = []
    var durable: [UInt8] = []
    var unsynced: [UnsyncedChange] = []
    // Directories.
    var volatileEntries: [String: InodeID] = [:]
    var durableEntries: [String: InodeID] = [:]

    init(isDirectory: Bool, permissions: UInt32) {
        self.isDirectory = isDirectory
        self.permissions = permissions
        self.durablePermissions = permissions
    }

    mutating func record(_ change: UnsyncedChange) {
        change.apply(to: &volatile)
        unsynced.append(change)
    }

    /// A successful fsync/fdatasync of a file: everything written since the last sync becomes durable,
    /// except changes poisoned by an earlier failed fsync (they were dropped from the dirty set and stay
    /// only in the page cache; that is why `volatile` is not copied when there are any).
    mutating func syncData() {
        if unsynced.contains(where: \.poisoned) {
            for change in unsynced where !change.poisoned { change.apply(to: &durable) }
        } else {
            durable = volatile
        }
        unsynced.removeAll()
    }
}

/// An open file description (`open(2)`): what `lock` locks and what `crash()` invalidates.
struct OpenFileDescription {
    let inode: InodeID
    /// Normalized path as opened (later renames do not change it): used in errors, logs and fault matching.
    let path: String
    let writable: Bool
}

/// One directory entry, for grouping the two halves of a rename.
struct EntryKey: Hashable {
    let directory: InodeID
    let name: String
}

/// The whole simulated machine: inodes, descriptors, locks, crash point, faults and the RNG. Always used
/// under `SimulatedFileSystem`'s mutex; every method is one system call or one power cut.
struct SimulatedVolume {
    static let rootID: InodeID = 1
    /// Largest file the model accepts (EFBIG beyond): keeps a bad offset from allocating the machine away.
    static let maximumFileSize = 1 << 32

    let seed: UInt64
    var rng: SplitMix64
    var inodes: [InodeID: SimulatedInode] = [rootID: SimulatedInode(isDirectory: true, permissions: 0o755)]
    var nextInode: InodeID = rootID + 1
    var descriptors: [Int32: OpenFileDescription] = [:]
    /// Never reused (unlike POSIX's lowest-free rule), so a stale descriptor is always EBADF, never a
    /// different file.
    var nextDescriptor: Int32 = 3
    /// flock holders: at most one open file description per inode.
    var lockHolders: [InodeID: Int32] = [:]
    /// Entries touched by not-yet-durable renames; each set reverts or survives a crash as a whole.
    var renameGroups: [Set<EntryKey>] = []
    var faultPlan = FaultPlan()
    var faultLog: [String] = []
    var mutatingOperationCount = 0
    var crashAfterOperations: Int?
    var isCrashed = false
    var crashCount = 0

    init(seed: UInt64) {
        self.seed = seed
        self.rng = SplitMix64(seed: seed)
    }

    // MARK: - Gate, errors and path resolution

    /// Every call starts here: a dead machine answers nothing, and a mutating call may be the one that hits
    /// the crash point.
    mutating func begin(_ call: String, _ path: String, mutating: Bool) throws(SystemError) {
        if isCrashed { throw SystemError(call: call, path: path, errno: SimulatedFileSystem.crashErrno) }
        guard mutating else { return }
        mutatingOperationCount += 1
        if let limit = crashAfterOperations, mutatingOperationCount > limit {
            isCrashed = true
            faultLog.append(
                "op \(mutatingOperationCount): \(call)(\(path)): power lost (crash point after \(limit) operations, "
                    + "seed \(seed))")
            throw SystemError(call: call, path: path, errno: SimulatedFileSystem.crashErrno)
        }
    }

    static func components(_ path: String) -> [String] {
        var parts: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(String(part))
        }
        return parts
    }

    static func normalized(_ path: String) -> String {
        "/" + components(path).joined(separator: "/")
    }

    /// Follows `parts` from the root through the volatile (or durable) entries. On failure gives the errno
    /// path resolution reports: ENOENT for a missing component, ENOTDIR for a file used as a directory.
    func lookup(_ parts: ArraySlice<String>, durable: Bool = false) -> (inode: InodeID?, errno: Int32) {
        var current = Self.rootID
        for part in parts {
            guard let directory = inodes[current], directory.isDirectory else { return (nil, LinuxErrno.ENOTDIR) }
            guard let next = (durable ? directory.durableEntries : directory.volatileEntries)[part] else {
                return (nil, LinuxErrno.ENOENT)
            }
            current = next
        }
        return (current, 0)
    }

    func existing(_ path: String, _ call: String) throws(SystemError) -> InodeID {
        let found = lookup(Self.components(path)[...])
        guard let inode = found.inode else { throw SystemError(call: call, path: path, errno: found.errno) }
        return inode
    }

    /// The directory that holds `path`'s last component, and that component; nil for "/".
    func parentAndName(_ path: String, _ call: String) throws(SystemError) -> (parent: InodeID, name: String)? {
        let parts = Self.components(path)
        guard let name = parts.last else { return nil }
        let found = lookup(parts.dropLast())
        guard let parent = found.inode else { throw SystemError(call: call, path: path, errno: found.errno) }
        guard inodes[parent]!.isDirectory else { throw SystemError(call: call, path: path, errno: LinuxErrno.ENOTDIR) }
        return (parent, name)
    }

    func descriptorLabel(_ fd: FileDescriptor) -> String {
        descriptors[fd.rawValue]?.path ?? "fd \(fd.rawValue)"
    }

    func description(_ fd: FileDescriptor, _ call: String) throws(SystemError) -> OpenFileDescription {
        guard let description = descriptors[fd.rawValue] else {
            throw SystemError(call: call, path: "fd \(fd.rawValue)", errno: LinuxErrno.EBADF)
        }
        return description
    }

    mutating func makeInode(isDirectory: Bool, permissions: UInt32, in parent: InodeID, named name: String)
        -> InodeID
    {
        let inode = nextInode
        nextInode += 1
        inodes[inode] = SimulatedInode(isDirectory: isDirectory, permissions: permissions & 0o7777)
        inodes[parent]!.volatileEntries[name] = inode
        return inode
    }

    /// Frees a file that no directory entry (volatile or durable) and no descriptor refers to any more.
    mutating func collectIfUnreferenced(_ inode: InodeID) {
        guard inode != Self.rootID, let node = inodes[inode], !node.isDirectory else { return }
        if descriptors.values.contains(where: { $0.inode == inode }) { return }
        for directory in inodes.values where directory.isDirectory {
            if directory.volatileEntries.values.contains(inode) || directory.durableEntries.values.contains(inode) {
                return
            }
        }
        inodes[inode] = nil
    }
}
