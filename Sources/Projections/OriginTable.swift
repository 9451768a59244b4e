import EventLog

/// The origins a snapshot refers to, numbered in the order they first appear in the merged order (which is
/// the same in every store holding the same segments, so the numbering is too).
public final class OriginTable {
    public private(set) var origins: [OriginID] = []
    private var index: [OriginID: UInt16] = [:]

    public init() {}

    /// The most origins one snapshot can name (indexes are 16 bits).
    public static let limit = Int(UInt16.max)

    public var isFull: Bool { origins.count >= Self.limit }

    /// The index of `o`, adding it. Callers check `isFull` before naming an origin that no log holds
    /// (`home_origin`); a store's own logs never come near the limit.
    public func index(of o: OriginID) -> UInt16 {
        if let i = index[o] { return i }
        precondition(origins.count < Self.limit, "more than 65,535 origins in one store")
        let i = UInt16(origins.count)
        origins.append(o)
        index[o] = i
        return i
    }

    public func lookup(_ o: OriginID) -> UInt16? { index[o] }

    public func origin(_ i: UInt16) -> OriginID? { Int(i) < origins.count ? origins[Int(i)] : nil }

    public func encode(_ w: inout SnapshotWriter) {
        w.varint(UInt64(origins.count))
        for o in origins { w.raw(o.bytes) }
    }

    public func decode(_ r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        let n = try r.count()
        origins = []
        index = [:]
        for _ in 0..<n { _ = index(of: OriginID(bytes: try r.raw(16))) }
        guard origins.count == n else { throw SnapshotReader.Failure(offset: r.offset, reason: "origin listed twice") }
    }
}
