import CXXHash
import Crypto

/// XXH3-64 (libxxhash), the checksum of every batch, block, header and derived file.
/// Same values as `xxhsum -H3` (a test cross-checks one).
public enum XXH3 {
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ string: String) -> UInt64 {
        var s = string
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}

/// XXH3-128 of an event id's stored bytes: the in-memory key of events in open segments. At 128 bits a
/// collision is not a practical concern (2^-64 even after 2^32 ids), so open-segment duplicates need no re-read.
public struct ID128: Hashable, Sendable {
    public var low: UInt64
    public var high: UInt64

    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    @inline(__always)
    public init(_ bytes: UnsafeRawBufferPointer) {
        let h = XXH3_128bits(bytes.baseAddress, bytes.count)
        low = h.low64
        high = h.high64
    }
}

/// SHA-256 (swift-crypto) for seals: the file bytes, the logical record stream and the seal hash chain.
public enum SHA256Digest {
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }
}

/// Streaming XXH3-64 (libxxhash state): a fast check that sealing wrote exactly the records it read.
public final class XXH3Stream {
    private let state: OpaquePointer
    public init() {
        state = XXH3_createState()
        XXH3_64bits_reset(state)
    }
    deinit { XXH3_freeState(state) }
    @inline(__always) public func update(_ bytes: UnsafeRawBufferPointer) {
        XXH3_64bits_update(state, bytes.baseAddress, bytes.count)
    }
    public func digest() -> UInt64 { XXH3_64bits_digest(state) }
}

/// Incremental SHA-256 over the logical record stream (per record, in LSN order: the envelope with its
/// region byte zeroed, the team as u8 length + bytes, the payload), independent of how records are
/// grouped, compressed or encrypted.
public struct LogicalStreamHasher {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public func finalize() -> [UInt8] { Array(hasher.finalize()) }
}

public func hexString(_ bytes: some Collection<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Parses lowercase or uppercase hex; nil if malformed.
public func bytesFromHex(_ hex: String) -> [UInt8]? {
    let utf8 = Array(hex.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
        guard let hi = hexValue(utf8[i]), let lo = hexValue(utf8[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}
