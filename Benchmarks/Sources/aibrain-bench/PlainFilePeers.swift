#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed call of the plain-file peers.
struct PeerIOError: Error, CustomStringConvertible {
    var call: String
    var path: String
    var errno: Int32
    var description: String { "\(call)(\(path)): \(String(cString: strerror(errno)))" }
}

/// The file loops the engine is compared with: what the hardware allows with no format at all.
/// They call libc directly (no seam, no checks) on purpose: they are the ceiling, not a design.
final class PlainFile {
    let path: String
    let fd: Int32

    init(path: String, append: Bool) throws(PeerIOError) {
        self.path = path
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (append ? O_APPEND : 0), 0o644)
        guard fd >= 0 else { throw PeerIOError(call: "open", path: path, errno: errno) }
    }

    deinit { _ = Glibc.close(fd) }

    /// pwrite until every byte is written.
    @inline(__always)
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(PeerIOError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PeerIOError(call: "pwrite", path: path, errno: errno) }
            done += n
        }
    }

    /// write(2) at the end (O_APPEND) until every byte is written.
    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) throws(PeerIOError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PeerIOError(call: "write", path: path, errno: errno) }
            done += n
        }
    }

    @inline(__always)
    func fdatasync() throws(PeerIOError) {
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw PeerIOError(call: "fdatasync", path: path, errno: errno)
        }
    }

    /// Writes `count` zero bytes from offset 0 and syncs them (and the size), so later overwrites find
    /// allocated, written blocks and fdatasync has no metadata to journal (LIMITS.md's overwrite ceiling).
    func preallocateZeros(_ count: Int) throws {
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        var at = 0
        while at < count {
            let n = min(chunk.count, count - at)
            try chunk.withUnsafeBytes { raw in
                try write(UnsafeRawBufferPointer(rebasing: raw[..<n]), at: at)
            }
            at += n
        }
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw PeerIOError(call: "fsync", path: path, errno: errno)
        }
    }
}
