/// The readers' watermark, kept in `LOCK` (bytes 16..<48) rather than in the segment: the writer
/// updates it after every successful sync, and a write to the segment's own header page would make the
/// next fdatasync flush a second, distant page (measured: ~30% fewer commits/s). `LOCK` is never synced;
/// the watermark is advisory for readers and, because it is only ever written after a sync, a value that
/// reached the disk never points past durable data (recovery uses that, R19 in FORMAT.md).
///
/// ```
/// LOCK:  0 16  holder's pid, ASCII, space padded, newline
///       16  4  epoch of the segment        24  8  segment first LSN
///       20  4  reserved (0)                32  8  synced end offset in that segment
///                                          40  8  XXH3-64 of bytes [16, 40)
/// ```
public struct LockWatermark: Sendable, Equatable {
    public static let offset: Int64 = 16
    public static let size = 32

    public var epoch: UInt32
    public var segmentFirstLSN: UInt64
    public var end: Int64

    public init(epoch: UInt32, segmentFirstLSN: UInt64, end: Int64) {
        self.epoch = epoch
        self.segmentFirstLSN = segmentFirstLSN
        self.end = end
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.u32(epoch)
        w.u32(0)
        w.u64(segmentFirstLSN)
        w.u64(UInt64(end))
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    /// nil when absent, torn or stale-looking (checksum mismatch).
    public static func decode(_ b: [UInt8]) -> LockWatermark? {
        guard b.count >= size else { return nil }
        return b.withUnsafeBytes { r in
            let sum = UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            guard sum == XXH3.hash(UnsafeRawBufferPointer(rebasing: r[0..<24])) else { return nil }
            return LockWatermark(
                epoch: UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                segmentFirstLSN: UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                end: Int64(UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 16, as: UInt64.self))))
        }
    }

    /// The watermark that applies to the segment (epoch, first LSN), if this one is about it.
    public func end(forSegment epoch: UInt32, firstLSN: UInt64) -> Int64? {
        self.epoch == epoch && segmentFirstLSN == firstLSN ? end : nil
    }
}
