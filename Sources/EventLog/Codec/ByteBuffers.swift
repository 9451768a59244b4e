/// Little-endian encoding into a growable byte array.
public struct ByteWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inline(__always) public mutating func u16(_ v: UInt16) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    @inline(__always) public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    @inline(__always) public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    @inline(__always) public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func raw(_ v: some Sequence<UInt8>) { bytes.append(contentsOf: v) }
    public mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }

    /// LEB128 unsigned varint.
    @inline(__always) public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// LEB128 length, then the UTF-8 bytes.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func patchU32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for i in 0..<4 { bytes[offset + i] = src[i] }
        }
    }

    public mutating func patchU64(_ v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for i in 0..<8 { bytes[offset + i] = src[i] }
        }
    }

    public mutating func patchU16(_ v: UInt16, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: v)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
    }
}

/// Why a structure could not be decoded: the field and the offset, for error messages.
public struct DecodeFailure: Error, Sendable, CustomStringConvertible {
    public var field: String
    public var offset: Int
    public var reason: String
    public init(field: String, offset: Int, reason: String) {
        self.field = field
        self.offset = offset
        self.reason = reason
    }
    public var description: String { "\(field) at offset \(offset): \(reason)" }
    /// A version, cipher or incompatible feature this build does not know: not damage.
    public var isUnsupported: Bool { ["format version", "incompatible features", "cipher"].contains(field) }
}

/// Bounds-checked little-endian reads from a buffer. Every read checks its bounds and throws; nothing
/// is ever read past the end (style point 5: pointers never escape the closure that lent them).
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public var offset: Int
    /// Added to offsets in error messages (the position of `buffer` within its file).
    public let base: Int

    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0, base: Int = 0) {
        self.buffer = buffer
        self.offset = offset
        self.base = base
    }

    public var remaining: Int { buffer.count - offset }

    @inline(__always)
    func need(_ n: Int, _ field: String) throws(DecodeFailure) {
        if n < 0 || n > buffer.count - offset {
            throw DecodeFailure(
                field: field, offset: base + offset,
                reason: "needs \(n) bytes but only \(max(0, buffer.count - offset)) remain")
        }
    }

    @inline(__always) public mutating func u8(_ field: String) throws(DecodeFailure) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return buffer[offset]
    }

    @inline(__always) public mutating func u16(_ field: String) throws(DecodeFailure) -> UInt16 {
        try need(2, field)
        defer { offset += 2 }
        return UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) public mutating func u32(_ field: String) throws(DecodeFailure) -> UInt32 {
        try need(4, field)
        defer { offset += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) public mutating func u64(_ field: String) throws(DecodeFailure) -> UInt64 {
        try need(8, field)
        defer { offset += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) public mutating func i64(_ field: String) throws(DecodeFailure) -> Int64 {
        Int64(bitPattern: try u64(field))
    }

    @inline(__always) public mutating func varint(_ field: String) throws(DecodeFailure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            try need(1, field)
            let b = buffer[offset]
            offset += 1
            if shift == 63 && b > 1 {
                throw DecodeFailure(field: field, offset: base + offset - 1, reason: "varint overflows 64 bits")
            }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 {
                throw DecodeFailure(field: field, offset: base + offset - 1, reason: "varint longer than 10 bytes")
            }
        }
    }

    public mutating func bytes(_ n: Int, _ field: String) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        try need(n, field)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
    }

    public mutating func array(_ n: Int, _ field: String) throws(DecodeFailure) -> [UInt8] {
        Array(try bytes(n, field))
    }

    /// A LEB128 length (at most `maxLength`) then that many bytes, returned as a range of `buffer`.
    @inline(__always)
    public mutating func stringRange(_ field: String, maxLength: Int) throws(DecodeFailure) -> Range<Int> {
        let n = try varint(field)
        if n > UInt64(maxLength) {
            throw DecodeFailure(field: field, offset: base + offset, reason: "length \(n) exceeds \(maxLength)")
        }
        try need(Int(n), field)
        let start = offset
        offset += Int(n)
        return start..<offset
    }

    public mutating func string(_ field: String, maxLength: Int) throws(DecodeFailure) -> String {
        let r = try stringRange(field, maxLength: maxLength)
        let slice = UnsafeRawBufferPointer(rebasing: buffer[r])
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw DecodeFailure(field: field, offset: base + r.lowerBound, reason: "is not valid UTF-8")
        }
        return s
    }

    public mutating func skip(_ n: Int, _ field: String) throws(DecodeFailure) {
        try need(n, field)
        offset += n
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps a typed error (the standard one is only `rethrows`).
    @inline(__always)
    public func withBytes<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        var result: Result<T, E>?
        withUnsafeBytes { raw in result = Result { () throws(E) -> T in try body(raw) } }
        return try result!.get()
    }

    @inline(__always)
    public mutating func withMutableBytes<T, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> T) throws(E)
        -> T
    {
        var result: Result<T, E>?
        withUnsafeMutableBytes { raw in result = Result { () throws(E) -> T in try body(raw) } }
        return try result!.get()
    }
}
