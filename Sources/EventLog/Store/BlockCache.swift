/// Decoded sealed blocks kept for repeated reads (task histories touch the same blocks again).
/// Least recently used blocks are dropped past the byte budget.
final class BlockCache {
    struct Key: Hashable {
        var segmentFirstLSN: UInt64
        var block: Int
    }

    private var entries: [Key: (block: DecodedBlock, tick: UInt64)] = [:]
    private var tick: UInt64 = 0
    private var bytes = 0
    let capacityBytes: Int

    init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    func get(_ key: Key) -> DecodedBlock? {
        guard let e = entries[key] else { return nil }
        tick += 1
        entries[key] = (e.block, tick)
        return e.block
    }

    func put(_ key: Key, _ block: DecodedBlock) {
        guard capacityBytes > 0 else { return }
        tick += 1
        if let old = entries.updateValue((block, tick), forKey: key) { bytes -= old.block.byteSize }
        bytes += block.byteSize
        while bytes > capacityBytes, entries.count > 1 {
            let victim = entries.min { $0.value.tick < $1.value.tick }!
            bytes -= victim.value.block.byteSize
            entries.removeValue(forKey: victim.key)
        }
    }

    func removeAll() {
        entries = [:]
        bytes = 0
    }
}
