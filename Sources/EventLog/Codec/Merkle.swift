import Crypto

/// RFC 6962 (§2.1) Merkle tree hashing over the records of a sealed segment: leaf = SHA-256(0x00 ‖ entry),
/// node = SHA-256(0x01 ‖ left ‖ right); a tree of n > 1 leaves splits at the largest power of two below n.
/// The entry of a record is its logical form ([FORMAT.md](../../../schemas/FORMAT.md), "Merkle root").
public enum MerkleTree {
    /// The hash of a leaf whose entry bytes are given in pieces (no copy of the record).
    public struct LeafHasher {
        private var h = SHA256()
        public init() { h.update(data: [0x00]) }
        public mutating func update(_ bytes: UnsafeRawBufferPointer) { h.update(bufferPointer: bytes) }
        public func finalize() -> [UInt8] { Array(h.finalize()) }
    }

    public static func leafHash(_ entry: [UInt8]) -> [UInt8] {
        var h = LeafHasher()
        entry.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: [0x01])
        h.update(data: left)
        h.update(data: right)
        return Array(h.finalize())
    }

    /// The root over leaf hashes. Pairing level by level and carrying an odd last node up unchanged gives
    /// exactly RFC 6962's split at the largest power of two. An empty tree is SHA-256 of nothing.
    public static func root(leaves: [[UInt8]]) -> [UInt8] {
        guard !leaves.isEmpty else { return SHA256Digest.hash([]) }
        var level = leaves
        while level.count > 1 {
            var next: [[UInt8]] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i + 1 < level.count {
                next.append(nodeHash(level[i], level[i + 1]))
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
        }
        return level[0]
    }

    /// The audit path of leaf `index` (RFC 6962 §2.1.1, PATH(m, D[n])), leaf to root.
    public static func inclusionPath(index: Int, leaves: [[UInt8]]) -> [[UInt8]] {
        precondition(index >= 0 && index < leaves.count)
        var path: [[UInt8]] = []
        func walk(_ m: Int, _ lo: Int, _ hi: Int) {
            let n = hi - lo
            guard n > 1 else { return }
            let k = largestPowerOfTwo(below: n)
            if m < k {
                walk(m, lo, lo + k)
                path.append(root(leaves: Array(leaves[(lo + k)..<hi])))
            } else {
                walk(m - k, lo + k, hi)
                path.append(root(leaves: Array(leaves[lo..<(lo + k)])))
            }
        }
        walk(index, 0, leaves.count)
        return path
    }

    /// RFC 9162 §2.1.3.2: whether `path` proves leaf `index` of a tree of `size` leaves has `root`.
    public static func verifyInclusion(
        leaf: [UInt8], index: UInt64, size: UInt64, path: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leaf
        for p in path {
            guard sn != 0, p.count == 32 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
