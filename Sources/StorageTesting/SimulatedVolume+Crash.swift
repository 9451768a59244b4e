/// What one power cut decided, for the one-line summary in `faultLog`.
struct CrashTally {
    var writesKept = 0
    var writesTorn = 0
    var writesDropped = 0
    var changesLostToFailedSync = 0
    var truncationsKept = 0
    var truncationsDropped = 0
    var entriesKept = 0
    var entriesReverted = 0
    var modesReverted = 0
    var inodesFreed = 0
}

extension SimulatedVolume {
    /// Sector size of the simulated disk: the unit a torn write is most often cut at (SQLite test6.c
    /// `SQLITE_DEFAULT_SECTOR_SIZE`; 512-byte sectors are what Linux block devices guarantee to write atomically
    /// at best).
    static let sectorSize = 512

    /// The power cut, then the reboot. Decisions are drawn from the seeded RNG, always visiting inodes and
    /// names in sorted order so that the same seed and the same calls give the same disk.
    ///
    /// 1. Directories: each entry whose volatile and durable values differ independently keeps its new value or
    ///    reverts to the durable one (RocksDB `FaultInjectionTestFS::DeleteFilesCreatedAfterLastDirSync`),
    ///    except that the two entries of a rename decide together: ext4 and XFS journal a rename as one
    ///    transaction, so after a crash a renamed file is under its old name or its new one, never both or
    ///    neither. A directory fsynced since its last change has no differences.
    /// 2. Files: start from `durable`; each unsynced write is dropped, applied whole, or torn (a prefix cut at a
    ///    sector boundary or at a random byte), each unsynced truncation happens or not (SQLite test6.c
    ///    `writeListSync` with random `eAction`; RocksDB `DropRandomUnsyncedFileData`). Writes poisoned by a failed
    ///    fsync are always lost (fsyncgate). Survivors are applied in issue order: since each write survives
    ///    independently, a later write can land while an earlier one is lost, which is the out-of-order writeback
    ///    a log must survive (a hole of zeros below a surviving tail); what is never produced is older bytes
    ///    overwriting newer bytes of the same range, which a page cache cannot do (it only holds the newest).
    /// 3. Mode bits changed since the last fsync keep or revert (coin).
    /// 4. Files and directories no entry reaches any more are freed; every descriptor becomes EBADF, every flock
    ///    is gone, the crash point is disarmed and the machine runs again with volatile = durable.
    mutating func crash() {
        crashCount += 1
        var tally = CrashTally()
        var groupDecisions: [Int: Bool] = [:]
        let ids = inodes.keys.sorted()

        for id in ids where inodes[id]!.isDirectory {
            let directory = inodes[id]!
            var entries = directory.durableEntries
            let names = Set(directory.volatileEntries.keys).union(directory.durableEntries.keys).sorted()
            for name in names where directory.volatileEntries[name] != directory.durableEntries[name] {
                let keep: Bool
                if let group = renameGroups.firstIndex(where: { $0.contains(EntryKey(directory: id, name: name)) }) {
                    if let decided = groupDecisions[group] {
                        keep = decided
                    } else {
                        keep = rng.nextBool()
                        groupDecisions[group] = keep
                    }
                } else {
                    keep = rng.nextBool()
                }
                if keep {
                    entries[name] = directory.volatileEntries[name]
                    tally.entriesKept += 1
                } else {
                    tally.entriesReverted += 1
                }
            }
            inodes[id]!.volatileEntries = entries
            inodes[id]!.durableEntries = entries
        }

        for id in ids {
            if !inodes[id]!.isDirectory { crashContent(of: id, tally: &tally) }
            if inodes[id]!.permissions != inodes[id]!.durablePermissions {
                if rng.nextBool() {
                    inodes[id]!.permissions = inodes[id]!.durablePermissions
                    tally.modesReverted += 1
                } else {
                    inodes[id]!.durablePermissions = inodes[id]!.permissions
                }
            }
        }

        var reachable: Set<InodeID> = [Self.rootID]
        var frontier: [InodeID] = [Self.rootID]
        while let id = frontier.popLast() {
            for child in inodes[id]!.volatileEntries.values where reachable.insert(child).inserted {
                frontier.append(child)
            }
        }
        for id in ids where !reachable.contains(id) {
            inodes[id] = nil
            tally.inodesFreed += 1
        }

        descriptors.removeAll()
        lockHolders.removeAll()
        renameGroups.removeAll()
        isCrashed = false
        crashAfterOperations = nil
        faultLog.append(
            "crash \(crashCount) (seed \(seed), after op \(mutatingOperationCount)): writes kept \(tally.writesKept), "
                + "torn \(tally.writesTorn), dropped \(tally.writesDropped), lost to failed fsync "
                + "\(tally.changesLostToFailedSync); truncations kept \(tally.truncationsKept), dropped "
                + "\(tally.truncationsDropped); entries kept \(tally.entriesKept), reverted \(tally.entriesReverted); "
                + "modes reverted \(tally.modesReverted); inodes freed \(tally.inodesFreed)")
    }

    /// Step 2 of `crash()` for one file.
    private mutating func crashContent(of id: InodeID, tally: inout CrashTally) {
        var content = inodes[id]!.durable
        for change in inodes[id]!.unsynced {
            if change.poisoned {
                tally.changesLostToFailedSync += 1
                continue
            }
            switch change.kind {
            case .truncate:
                if rng.nextBool() {
                    change.apply(to: &content)
                    tally.truncationsKept += 1
                } else {
                    tally.truncationsDropped += 1
                }
            case .write(let offset, let bytes):
                switch rng.next(below: 3) {
                case 0:
                    tally.writesDropped += 1
                case 1:
                    change.apply(to: &content)
                    tally.writesKept += 1
                default:
                    let kept = tornLength(offset: offset, count: bytes.count)
                    if kept > 0 { UnsyncedChange.overwrite(&content, with: bytes[..<kept], at: offset) }
                    tally.writesTorn += 1
                }
            }
        }
        inodes[id]!.volatile = content
        inodes[id]!.durable = content
        inodes[id]!.unsynced.removeAll()
    }

    /// How many leading bytes of a torn write reach the disk: up to a sector boundary inside the write (coin),
    /// else at a random byte; at least one byte and fewer than `count` (a 1-byte write cannot tear: zero).
    private mutating func tornLength(offset: Int, count: Int) -> Int {
        guard count > 1 else { return 0 }
        let firstBoundary = (offset / Self.sectorSize + 1) * Self.sectorSize - offset
        if firstBoundary < count && rng.nextBool() {
            let boundaries = (count - 1 - firstBoundary) / Self.sectorSize + 1
            return firstBoundary + rng.next(below: boundaries) * Self.sectorSize
        }
        return 1 + rng.next(below: count - 1)
    }

    /// See `SimulatedFileSystem.kill()`.
    mutating func kill() {
        lockHolders.removeAll()
        isCrashed = false
        crashAfterOperations = nil
        faultLog.append(
            "kill (seed \(seed), after op \(mutatingOperationCount)): the process died, the page cache kept")
    }
}
