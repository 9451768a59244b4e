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
    private var hashes: [UInt64] = []
    /// Open addressing: slot → id + 1 (0 = empty).
    private var slots: [Int32]
    private var mask: Int

    public init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = Array(repeating: 0, count: n)
        mask = n - 1
    }

    public var count: Int { strings.count }

    public subscript(id: Int32) -> String { strings[Int(id)] }

    /// The id of `bytes` (UTF-8), interning it if new.
    @inline(__always)
    public func id(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let h = bytes.count == 0 ? 0 : XXH3_64bits(bytes.baseAddress, bytes.count)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { break }
            let id = Int(s - 1)
            if hashes[id] == h, equal(strings[id], bytes) { return Int32(id) }
            i = (i + 1) & mask
        }
        return insert(String(decoding: bytes, as: UTF8.self), hash: h, slot: i)
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
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let slot = slots[i]
                if slot == 0 { return nil }
                let id = Int(slot - 1)
                if hashes[id] == h, equal(strings[id], b) { return Int32(id) }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always)
    private func equal(_ s: String, _ b: UnsafeRawBufferPointer) -> Bool {
        var s = s
        return s.withUTF8 { u in
            u.count == b.count && (u.count == 0 || memcmp(u.baseAddress!, b.baseAddress!, u.count) == 0)
        }
    }

    private func insert(_ s: String, hash: UInt64, slot: Int) -> Int32 {
        let id = Int32(strings.count)
        strings.append(s)
        hashes.append(hash)
        slots[slot] = id + 1
        if strings.count * 2 > slots.count { grow() }
        return id
    }

    private func grow() {
        let n = slots.count * 2
        slots = Array(repeating: 0, count: n)
        mask = n - 1
        for (id, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h) & mask
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
