/// The bytes of an open segment being scanned: mapped read-only where the file system maps and nothing can
/// shrink the file meanwhile, else read into memory.
///
/// Rule: map only (a) as the writer, holding LOCK (no other process cuts a tail then), or (b) as a reader,
/// up to the writer's watermark (a cut never goes below synced data; `.open` files are unlinked, never
/// truncated, once sealed). Why: touching a mapped page past the end of a file that shrank is SIGBUS.
/// Before this process itself truncates the file (a torn tail), it copies what it needs (`copied`).
final class SegmentBytes {
    private let mapped: MappedFile?
    private let array: [UInt8]

    init(fs: any FileSystem, fd: FileDescriptor, count: Int, mayMap: Bool) throws(SystemError) {
        // Below 1 MiB a read costs no more than setting up a mapping.
        if mayMap, count >= 1 << 20, let m = fs.mapReadOnly(fd, count: count) {
            mapped = m
            array = []
        } else {
            mapped = nil
            array = try fs.read(fd, count: count, at: 0)
        }
    }

    var count: Int { mapped?.bytes.count ?? array.count }

    func withBytes<T, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        if let mapped { return try body(mapped.bytes) }
        return try array.withBytes(body)
    }

    /// A copy (kept-aside files, a torn tail about to be cut).
    var copied: [UInt8] { mapped.map { Array($0.bytes) } ?? array }

    /// Whether every byte from `offset` on is zero.
    func isZero(from offset: Int) -> Bool {
        withBytes { (b) -> Bool in offset >= b.count || b[offset...].allSatisfy { $0 == 0 } }
    }
}
