import EventLog

/// The directory calls: rename, link, unlink, mkdir, opendir, stat, chmod. They change volatile entries only;
/// `commitDirectory` (fsync of the directory) makes them durable.
extension SimulatedVolume {
    mutating func rename(_ from: String, _ to: String) throws(SystemError) {
        let label = "\(from) -> \(to)"
        try begin("rename", label, mutating: true)
        guard let source = try parentAndName(from, "rename"), let target = try parentAndName(to, "rename") else {
            throw SystemError(call: "rename", path: label, errno: LinuxErrno.EBUSY)
        }
        guard let moving = inodes[source.parent]!.volatileEntries[source.name] else {
            throw SystemError(call: "rename", path: label, errno: LinuxErrno.ENOENT)
        }
        let replaced = inodes[target.parent]!.volatileEntries[target.name]
        if replaced == moving { return }  // rename(2): same file, do nothing.
        let movingDirectory = inodes[moving]!.isDirectory
        if let replaced {
            let replacedDirectory = inodes[replaced]!.isDirectory
            if movingDirectory && !replacedDirectory {
                throw SystemError(call: "rename", path: label, errno: LinuxErrno.ENOTDIR)
            }
            if !movingDirectory && replacedDirectory {
                throw SystemError(call: "rename", path: label, errno: LinuxErrno.EISDIR)
            }
            if replacedDirectory && !inodes[replaced]!.volatileEntries.isEmpty {
                throw SystemError(call: "rename", path: label, errno: LinuxErrno.ENOTEMPTY)
            }
        }
        if movingDirectory {
            // A directory cannot move below itself (EINVAL).
            var ancestor: InodeID = Self.rootID
            for part in Self.components(to).dropLast() {
                ancestor = inodes[ancestor]!.volatileEntries[part]!
                if ancestor == moving { throw SystemError(call: "rename", path: label, errno: LinuxErrno.EINVAL) }
            }
        }
        inodes[source.parent]!.volatileEntries[source.name] = nil
        inodes[target.parent]!.volatileEntries[target.name] = moving
        recordRename(
            EntryKey(directory: source.parent, name: source.name),
            EntryKey(directory: target.parent, name: target.name))
        if let replaced { collectIfUnreferenced(replaced) }
    }

    /// Ties the two entries of a rename (and any earlier rename sharing one of them) into one group.
    mutating func recordRename(_ source: EntryKey, _ target: EntryKey) {
        var merged: Set<EntryKey> = [source, target]
        renameGroups.removeAll { group in
            guard group.contains(source) || group.contains(target) else { return false }
            merged.formUnion(group)
            return true
        }
        renameGroups.append(merged)
    }

    mutating func link(_ from: String, _ to: String) throws(SystemError) {
        let label = "\(from) -> \(to)"
        try begin("link", label, mutating: true)
        let inode = try existing(from, "link")
        if inodes[inode]!.isDirectory { throw SystemError(call: "link", path: label, errno: LinuxErrno.EPERM) }
        guard let target = try parentAndName(to, "link"), inodes[target.parent]!.volatileEntries[target.name] == nil
        else { throw SystemError(call: "link", path: label, errno: LinuxErrno.EEXIST) }
        inodes[target.parent]!.volatileEntries[target.name] = inode
    }

    mutating func unlink(_ path: String) throws(SystemError) {
        try begin("unlink", path, mutating: true)
        guard let place = try parentAndName(path, "unlink") else {
            throw SystemError(call: "unlink", path: path, errno: LinuxErrno.EISDIR)
        }
        guard let inode = inodes[place.parent]!.volatileEntries[place.name] else {
            throw SystemError(call: "unlink", path: path, errno: LinuxErrno.ENOENT)
        }
        if inodes[inode]!.isDirectory { throw SystemError(call: "unlink", path: path, errno: LinuxErrno.EISDIR) }
        inodes[place.parent]!.volatileEntries[place.name] = nil
        collectIfUnreferenced(inode)
    }

    mutating func makeDirectory(_ path: String) throws(SystemError) {
        try begin("mkdir", path, mutating: true)
        guard let place = try parentAndName(path, "mkdir"), inodes[place.parent]!.volatileEntries[place.name] == nil
        else { throw SystemError(call: "mkdir", path: path, errno: LinuxErrno.EEXIST) }
        _ = makeInode(isDirectory: true, permissions: 0o755, in: place.parent, named: place.name)
    }

    mutating func listDirectory(_ path: String) throws(SystemError) -> [String] {
        try begin("opendir", path, mutating: false)
        let inode = try existing(path, "opendir")
        guard inodes[inode]!.isDirectory else {
            throw SystemError(call: "opendir", path: path, errno: LinuxErrno.ENOTDIR)
        }
        return inodes[inode]!.volatileEntries.keys.sorted()
    }

    mutating func stat(_ path: String) throws(SystemError) -> FileStatus? {
        try begin("stat", path, mutating: false)
        guard let inode = lookup(Self.components(path)[...]).inode, let node = inodes[inode] else { return nil }
        return FileStatus(
            size: node.isDirectory ? 4096 : Int64(node.volatile.count), inode: inode,
            isDirectory: node.isDirectory, permissions: node.permissions)
    }

    mutating func setMode(_ path: String, _ mode: UInt32) throws(SystemError) {
        try begin("chmod", path, mutating: true)
        let inode = try existing(path, "chmod")
        inodes[inode]!.permissions = mode & 0o7777
    }
}
