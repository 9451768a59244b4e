import CLZ4

/// Standard LZ4 frames (liblz4 `LZ4F_*`): what sealed segments store, readable by `lz4 -d`.
/// Content size is recorded; LZ4's own checksums are off because the block XXH3-64 covers stored bytes.
public enum LZ4Frame {
    public struct Failure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Appends one frame to `out`, compressing into a reusable `scratch` buffer (no zero-fill of `out`).
    @discardableResult
    public static func compress(
        _ source: UnsafeRawBufferPointer, appendingTo out: inout [UInt8], scratch: inout [UInt8]
    ) -> Int {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max64KB
        // Independent blocks: the decoder keeps no history window, so it never copies what it decodes.
        prefs.frameInfo.blockMode = LZ4F_blockIndependent
        prefs.frameInfo.contentSize = UInt64(source.count)
        prefs.compressionLevel = 0
        let bound = LZ4F_compressFrameBound(source.count, &prefs)
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let written = scratch.withUnsafeMutableBytes { dst in
            LZ4F_compressFrame(dst.baseAddress, bound, source.baseAddress, source.count, &prefs)
        }
        precondition(
            LZ4F_isError(written) == 0, "LZ4F_compressFrame failed: \(String(cString: LZ4F_getErrorName(written)))")
        scratch.withUnsafeBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<written])) }
        return written
    }

    /// A reusable decompression context (one per reader; not thread-safe).
    public final class Decompressor {
        private var context: OpaquePointer?

        public init() {
            let r = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
            precondition(LZ4F_isError(r) == 0, "LZ4F_createDecompressionContext failed")
        }

        deinit { LZ4F_freeDecompressionContext(context) }

        /// Decompresses exactly one whole frame of `expectedSize` bytes into `destination`. Give it room
        /// for 64 KiB more than expected and liblz4 decodes straight into it instead of through its own
        /// buffer (one copy less per byte read); a frame that would hold more than `expectedSize` is refused.
        /// Throws if the frame is truncated, malformed, or does not hold exactly `expectedSize` bytes:
        /// `LZ4F_decompress` returns 0 only when a frame is complete, so anything else is an error.
        public func decompress(
            _ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, expectedSize: Int
        ) throws(Failure) {
            precondition(destination.count >= expectedSize)
            LZ4F_resetDecompressionContext(context)
            var srcDone = 0
            var dstDone = 0
            while true {
                var srcSize = frame.count - srcDone
                var dstSize = destination.count - dstDone
                let hint = LZ4F_decompress(
                    context, destination.baseAddress.map { $0 + dstDone }, &dstSize,
                    frame.baseAddress.map { $0 + srcDone }, &srcSize, nil)
                if LZ4F_isError(hint) != 0 {
                    throw Failure(reason: "LZ4 frame is malformed: \(String(cString: LZ4F_getErrorName(hint)))")
                }
                srcDone += srcSize
                dstDone += dstSize
                if hint == 0 { break }
                if srcSize == 0 && dstSize == 0 || srcDone >= frame.count {
                    if dstDone >= expectedSize && srcDone >= frame.count {
                        throw Failure(reason: "LZ4 frame holds more than the \(expectedSize) bytes recorded")
                    }
                    throw Failure(reason: "LZ4 frame is truncated after \(srcDone) of \(frame.count) bytes")
                }
            }
            guard srcDone == frame.count else {
                throw Failure(reason: "LZ4 frame ends at \(srcDone) but \(frame.count) bytes are recorded")
            }
            guard dstDone == expectedSize else {
                throw Failure(reason: "LZ4 frame holds \(dstDone) bytes, \(expectedSize) recorded")
            }
        }
    }
}
