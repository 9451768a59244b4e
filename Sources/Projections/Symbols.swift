import CXXHash
import Foundation

/// Interns short byte strings (task ids, item ids, agent names) to dense `Int32` ids, so the fold keys its
/// tables by array index instead of hashing a Swift `String` per event (SipHash plus an allocation: the
/// largest cost of the first version of the fold, measured with perf).
///
/// Ids are numbered in order of first appearance; snapshots never store them (maps are written by their
/// string keys, sorted), so two stores that numbered differently still write identical bytes.
///
/// Concurrency rule: owned by one engine, used by one thread at a time.
public final class Symbols {
    /// The text of each id.
    public private(set) var strings: [String] = []
    // The lookup side lives in plain memory (no reference counting on the hot path): per id its hash and
    // its bytes in `arena`; `slots` is open addressing, slot → id + 1 (0 = empty).
    private var hashes: UnsafeMutablePointer<UInt64>
    private var offsets: UnsafeMutablePointer<Int>
    private var lengths: UnsafeMutablePointer<Int>
    private var capacity: Int
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0
    private var arenaCapacity: Int
    private var slots: UnsafeMutablePointer<Int32>
    private var slotCount: Int

    public init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slotCount = n
        slots = .allocate(capacity: n)
        slots.initialize(repeating: 0, count: n)
        self.capacity = max(16, capacity)
        hashes = .allocate(capacity: self.capacity)
        offsets = .allocate(capacity: self.capacity)
        lengths = .allocate(capacity: self.capacity)
        arenaCapacity = self.capacity * 16
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.deallocate()
        hashes.deallocate()
        offsets.deallocate()
        lengths.deallocate()
        arena.deallocate()
    }

    public var count: Int { strings.count }

    public subscript(id: Int32) -> String { strings[Int(id)] }

    /// The id of `bytes` (UTF-8), interning it if new.
    @inline(__always)
    public func id(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let h = bytes.count == 0 ? 0 : XXH3_64bits(bytes.baseAddress, bytes.count)
        let mask = slotCount - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { break }
            let id = Int(s - 1)
            if hashes[id] == h, equal(id, bytes) { return Int32(id) }
            i = (i + 1) & mask
        }
        return insert(bytes, hash: h, slot: i)
    }

    /// The id of a Swift string, interning it if new.
    public func id(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { id(UnsafeRawBufferPointer($0)) }
    }

    /// The id of a string already interned, or nil (never inserts).
    public func lookup(_ s: String) -> Int32? {
        var s = s
        return s.withUTF8 { u -> Int32? in
            let b = UnsafeRawBufferPointer(u)
            let h = b.count == 0 ? 0 : XXH3_64bits(b.baseAddress, b.count)
            let mask = slotCount - 1
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let slot = slots[i]
                if slot == 0 { return nil }
                let id = Int(slot - 1)
                if hashes[id] == h, equal(id, b) { return Int32(id) }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always)
    private func equal(_ id: Int, _ b: UnsafeRawBufferPointer) -> Bool {
        lengths[id] == b.count && (b.count == 0 || memcmp(arena + offsets[id], b.baseAddress!, b.count) == 0)
    }

    private func insert(_ bytes: UnsafeRawBufferPointer, hash: UInt64, slot: Int) -> Int32 {
        let id = strings.count
        if id == capacity {
            let n = capacity * 2
            hashes = Self.grow(hashes, capacity, n)
            offsets = Self.grow(offsets, capacity, n)
            lengths = Self.grow(lengths, capacity, n)
            capacity = n
        }
        if arenaCount + bytes.count > arenaCapacity {
            let n = max(arenaCapacity * 2, arenaCount + bytes.count)
            arena = Self.grow(arena, arenaCount, n)
            arenaCapacity = n
        }
        if let p = bytes.baseAddress {
            (arena + arenaCount).update(from: p.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        }
        hashes[id] = hash
        offsets[id] = arenaCount
        lengths[id] = bytes.count
        arenaCount += bytes.count
        strings.append(String(decoding: bytes, as: UTF8.self))
        slots[slot] = Int32(id) + 1
        if strings.count * 2 > slotCount { rehash() }
        return Int32(id)
    }

    private static func grow<T>(_ p: UnsafeMutablePointer<T>, _ used: Int, _ n: Int) -> UnsafeMutablePointer<T> {
        let q = UnsafeMutablePointer<T>.allocate(capacity: n)
        q.moveInitialize(from: p, count: used)
        p.deallocate()
        return q
    }

    private func rehash() {
        let n = slotCount * 2
        slots.deallocate()
        slots = .allocate(capacity: n)
        slots.initialize(repeating: 0, count: n)
        slotCount = n
        let mask = n - 1
        for id in 0..<strings.count {
            var i = Int(truncatingIfNeeded: hashes[id]) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Int32(id) + 1
        }
    }
}

/// The symbol tables of one fold.
public final class SymbolTables {
    public let tasks = Symbols(capacity: 16_384)
    public let items = Symbols(capacity: 16_384)
    /// Agents, teams, projects, models.
    public let labels = Symbols(capacity: 256)
    public let kos = Symbols(capacity: 4096)

    public init() {}
}
