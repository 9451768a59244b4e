/// `stats` as a library call: per origin, segments, events, bytes, LSN and time ranges, compression.
public struct StoreStats: Sendable, Codable, Equatable {
    public struct Origin: Sendable, Codable, Equatable {
        public var origin: String
        public var local: Bool
        public var sealedSegments: Int
        public var openSegments: Int
        public var events: UInt64
        public var firstLSN: UInt64?
        public var lastLSN: UInt64?
        public var sealedBytes: Int64
        public var openBytes: Int64
        /// Uncompressed envelope + payload bytes of the sealed segments.
        public var sealedRecordBytes: UInt64
        public var streams: Int
        public var minRecordedAt: Int64?
        public var maxRecordedAt: Int64?
        public var compressionRatio: Double? {
            sealedBytes > 0 ? Double(sealedRecordBytes) / Double(sealedBytes) : nil
        }
    }

    public var origins: [Origin]

    /// Reads CATALOG and the open tail of every origin (through a read-only `EventLog` for ours).
    public static func collect(_ log: EventLog) throws(EventLogError) -> StoreStats {
        log.lock.lock()
        defer { log.lock.unlock() }
        var o = Origin(
            origin: log.origin.hex, local: true, sealedSegments: log.catalog.entries.count,
            openSegments: log.opens.count,
            events: 0, firstLSN: nil, lastLSN: nil, sealedBytes: 0, openBytes: 0, sealedRecordBytes: 0,
            streams: Set(log.catalog.streamKeys.keys).union(log.openStreams.keys).count, minRecordedAt: nil,
            maxRecordedAt: nil)
        for (i, e) in log.catalog.entries.enumerated() {
            o.events += e.eventCount
            o.sealedBytes += e.fileSize
            o.sealedRecordBytes += try log.sealedSegment(at: i).footer.recordBytes
            o.firstLSN = o.firstLSN ?? e.firstLSN
            o.lastLSN = e.lastLSN
            o.minRecordedAt = min(o.minRecordedAt ?? e.minRecordedAt, e.minRecordedAt)
            o.maxRecordedAt = max(o.maxRecordedAt ?? e.maxRecordedAt, e.maxRecordedAt)
        }
        for s in log.opens where !s.isEmpty {
            o.events += UInt64(s.batches.reduce(0) { $0 + $1.count })
            o.openBytes += s.dataEnd
            o.firstLSN = o.firstLSN ?? s.firstLSN
            o.lastLSN = s.lastLSN
        }
        return StoreStats(origins: [o])
    }
}
