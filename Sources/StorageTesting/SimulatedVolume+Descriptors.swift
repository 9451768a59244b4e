import EventLog

/// The descriptor calls: open, close, pwrite, pread, fsync/fdatasync, fstat, ftruncate, flock.
extension SimulatedVolume {
    mutating func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> FileDescriptor {
        let creating: Bool
        switch mode {
        case .createExclusive, .createOrOpen: creating = true
        case .readOnly, .readWrite, .directory: creating = false
        }
        try begin("open", path, mutating: creating)
        let inode: InodeID
        var writable = true
        switch mode {
        case .readOnly:
            // Linux allows O_RDONLY on a directory; reads then fail with EISDIR.
            inode = try existing(path, "open")
            writable = false
        case .readWrite:
            inode = try existing(path, "open")
            if inodes[inode]!.isDirectory { throw SystemError(call: "open", path: path, errno: LinuxErrno.EISDIR) }
        case .directory:
            inode = try existing(path, "open")
            if !inodes[inode]!.isDirectory { throw SystemError(call: "open", path: path, errno: LinuxErrno.ENOTDIR) }
            writable = false
        case .createExclusive(let permissions):
            guard let place = try parentAndName(path, "open"), inodes[place.parent]!.volatileEntries[place.name] == nil
            else { throw SystemError(call: "open", path: path, errno: LinuxErrno.EEXIST) }
            inode = makeInode(isDirectory: false, permissions: permissions, in: place.parent, named: place.name)
        case .createOrOpen(let permissions):
            guard let place = try parentAndName(path, "open") else {
                throw SystemError(call: "open", path: path, errno: LinuxErrno.EISDIR)
            }
            if let found = inodes[place.parent]!.volatileEntries[place.name] {
                if inodes[found]!.isDirectory { throw SystemError(call: "open", path: path, errno: LinuxErrno.EISDIR) }
                inode = found
            } else {
                inode = makeInode(isDirectory: false, permissions: permissions, in: place.parent, named: place.name)
            }
        }
        let fd = nextDescriptor
        nextDescriptor += 1
        descriptors[fd] = OpenFileDescription(inode: inode, path: Self.normalized(path), writable: writable)
        return FileDescriptor(rawValue: fd)
    }

    mutating func close(_ fd: FileDescriptor) {
        guard let description = descriptors.removeValue(forKey: fd.rawValue) else { return }
        if lockHolders[description.inode] == fd.rawValue { lockHolders[description.inode] = nil }
        collectIfUnreferenced(description.inode)
    }

    mutating func pwrite(_ fd: FileDescriptor, _ bytes: [UInt8], at offset: Int64) throws(SystemError) -> Int {
        try begin("pwrite", descriptorLabel(fd), mutating: true)
        let file = try description(fd, "pwrite")
        guard file.writable else { throw SystemError(call: "pwrite", path: file.path, errno: LinuxErrno.EBADF) }
        guard offset >= 0 else { throw SystemError(call: "pwrite", path: file.path, errno: LinuxErrno.EINVAL) }
        guard offset <= Int64(Self.maximumFileSize - bytes.count) else {
            throw SystemError(call: "pwrite", path: file.path, errno: LinuxErrno.EFBIG)
        }
        if let fault = faultPlan.fault(for: .write, path: file.path) {
            faultLog.append(
                "op \(mutatingOperationCount): pwrite(\(file.path), \(bytes.count) bytes at \(offset)): injected "
                    + "\(SystemError.name(fault.errno)), nothing written [\(fault.rule)]")
            throw SystemError(call: "pwrite", path: file.path, errno: fault.errno)
        }
        if bytes.isEmpty { return 0 }
        var count = bytes.count
        if count > 1, faultPlan.shortWriteProbability > 0, rng.nextDouble() < faultPlan.shortWriteProbability {
            count = 1 + rng.next(below: bytes.count - 1)
            faultLog.append(
                "op \(mutatingOperationCount): pwrite(\(file.path), \(bytes.count) bytes at \(offset)): "
                    + "short write of \(count) bytes")
        }
        inodes[file.inode]!.record(UnsyncedChange(kind: .write(offset: Int(offset), bytes: Array(bytes[..<count]))))
        return count
    }

    mutating func pread(_ fd: FileDescriptor, count: Int, at offset: Int64) throws(SystemError) -> [UInt8] {
        try begin("pread", descriptorLabel(fd), mutating: false)
        let file = try description(fd, "pread")
        let node = inodes[file.inode]!
        if node.isDirectory { throw SystemError(call: "pread", path: file.path, errno: LinuxErrno.EISDIR) }
        guard offset >= 0 else { throw SystemError(call: "pread", path: file.path, errno: LinuxErrno.EINVAL) }
        if let fault = faultPlan.fault(for: .read, path: file.path) {
            faultLog.append(
                "op \(mutatingOperationCount): pread(\(file.path), \(count) bytes at \(offset)): injected "
                    + "\(SystemError.name(fault.errno)) [\(fault.rule)]")
            throw SystemError(call: "pread", path: file.path, errno: fault.errno)
        }
        guard offset < Int64(node.volatile.count) else { return [] }
        let start = Int(offset)
        return Array(node.volatile[start..<min(start + count, node.volatile.count)])
    }

    /// `fsync` and `fdatasync`. `metadata` (fsync only) also makes the mode bits durable.
    mutating func sync(_ fd: FileDescriptor, call: String, metadata: Bool) throws(SystemError) {
        try begin(call, descriptorLabel(fd), mutating: true)
        let file = try description(fd, call)
        if let fault = faultPlan.fault(for: .sync, path: file.path) {
            var note = "nothing made durable"
            if !inodes[file.inode]!.isDirectory {
                // fsyncgate: Linux reports the writeback error once and marks the pages clean; the data is in
                // the page cache only, and a retried fsync "succeeds" without writing it.
                let pending = inodes[file.inode]!.unsynced.count
                for index in inodes[file.inode]!.unsynced.indices {
                    inodes[file.inode]!.unsynced[index].poisoned = true
                }
                note = "\(pending) unsynced changes stay readable but will never become durable (fsyncgate)"
            }
            faultLog.append(
                "op \(mutatingOperationCount): \(call)(\(file.path)): injected \(SystemError.name(fault.errno)), "
                    + "\(note) [\(fault.rule)] (inode \(file.inode))")
            throw SystemError(call: call, path: file.path, errno: fault.errno)
        }
        if inodes[file.inode]!.isDirectory {
            commitDirectory(file.inode)
        } else {
            inodes[file.inode]!.syncData()
        }
        if metadata || inodes[file.inode]!.isDirectory {
            inodes[file.inode]!.durablePermissions = inodes[file.inode]!.permissions
        }
    }

    /// `fsync` of a directory: its entries become durable. A rename is one journal transaction on ext4 and
    /// XFS, so committing either directory of a rename commits both of its halves.
    mutating func commitDirectory(_ directory: InodeID) {
        var committed: [Set<EntryKey>] = []
        renameGroups.removeAll { group in
            guard group.contains(where: { $0.directory == directory }) else { return false }
            committed.append(group)
            return true
        }
        for key in committed.flatMap({ $0 }) {
            let current = inodes[key.directory]?.volatileEntries[key.name]
            inodes[key.directory]?.durableEntries[key.name] = current
        }
        inodes[directory]!.durableEntries = inodes[directory]!.volatileEntries
    }

    mutating func size(_ fd: FileDescriptor) throws(SystemError) -> Int64 {
        try begin("fstat", descriptorLabel(fd), mutating: false)
        let file = try description(fd, "fstat")
        let node = inodes[file.inode]!
        return node.isDirectory ? 4096 : Int64(node.volatile.count)
    }

    mutating func truncate(_ fd: FileDescriptor, to size: Int64) throws(SystemError) {
        try begin("ftruncate", descriptorLabel(fd), mutating: true)
        let file = try description(fd, "ftruncate")
        // ftruncate(2): EINVAL when the descriptor is not open for writing or the length is negative.
        guard file.writable, size >= 0 else {
            throw SystemError(call: "ftruncate", path: file.path, errno: LinuxErrno.EINVAL)
        }
        guard size <= Int64(Self.maximumFileSize) else {
            throw SystemError(call: "ftruncate", path: file.path, errno: LinuxErrno.EFBIG)
        }
        inodes[file.inode]!.record(UnsyncedChange(kind: .truncate(size: Int(size))))
    }

    mutating func lock(_ fd: FileDescriptor, nonBlocking: Bool) throws(SystemError) -> Bool {
        try begin("flock", descriptorLabel(fd), mutating: false)
        let file = try description(fd, "flock")
        if let holder = lockHolders[file.inode], holder != fd.rawValue {
            if nonBlocking { return false }
            // One object, one thread of control per test: waiting could only deadlock, so say so instead.
            throw SystemError(call: "flock", path: file.path, errno: LinuxErrno.EWOULDBLOCK)
        }
        lockHolders[file.inode] = fd.rawValue
        return true
    }

    mutating func unlock(_ fd: FileDescriptor) {
        guard let file = descriptors[fd.rawValue], lockHolders[file.inode] == fd.rawValue else { return }
        lockHolders[file.inode] = nil
    }
}
