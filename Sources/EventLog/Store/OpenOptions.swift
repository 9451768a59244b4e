#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a process opens a store.
public struct OpenOptions: Sendable {
    /// Readers never take the writer lock, never repair, and see only data up to the writer's watermark.
    public var readOnly: Bool
    /// The origin whose `log/<origin-id>/` to open; nil is the store's own. Other origins (adopted from
    /// peers) open only read-only: this store never writes them.
    public var origin: OriginID?
    /// Overrides store.json's policies for this process (e.g. a benchmark or test); nil keeps them.
    public var policies: StoreConfig.Policies?
    /// The writer clock, Unix milliseconds. Injected by tests; never read by projections.
    public var clock: @Sendable () -> Int64
    /// Decoded sealed blocks kept in memory for repeated reads (task histories).
    public var blockCacheBytes: Int
    /// Zeros written ahead of the data of the open segment so that commits overwrite allocated blocks and
    /// fdatasync need not journal a size change (LIMITS.md: overwrite+fdatasync is ~25% faster than append).
    public var preallocationBytes: Int
    /// Roll and seal automatically when the open segment passes `rollBytes` or `rollAgeSeconds`.
    public var autoSeal: Bool
    /// Source of the random 128-bit segment ids; tests inject a fixed one for golden files.
    public var segmentIDs: @Sendable () -> [UInt8]
    /// Signs every seal this process writes (the trust layer's origin key); nil writes unsigned seals, which
    /// is refused once the origin's newest seal is signed.
    public var signer: (any SealSigner)?
    /// Encryption of payload regions (the trust layer's team keyring). nil: the cipher registered with
    /// `DefaultRegionCipher`, if any. Without one, segments are written without encryption, encrypted
    /// regions read as `PayloadState.encrypted`, and appends to an encrypted segment are refused.
    public var cipher: (any RegionCipher)?

    public init(
        readOnly: Bool = false, origin: OriginID? = nil, policies: StoreConfig.Policies? = nil,
        clock: @escaping @Sendable () -> Int64 = OpenOptions.wallClockMilliseconds, blockCacheBytes: Int = 64 << 20,
        preallocationBytes: Int = 1 << 20, autoSeal: Bool = true,
        segmentIDs: @escaping @Sendable () -> [UInt8] = { SegmentHeader.randomSegmentID() },
        signer: (any SealSigner)? = nil, cipher: (any RegionCipher)? = nil
    ) {
        self.signer = signer
        self.cipher = cipher
        self.segmentIDs = segmentIDs
        self.readOnly = readOnly
        self.origin = origin
        self.policies = policies
        self.clock = clock
        self.blockCacheBytes = blockCacheBytes
        self.preallocationBytes = preallocationBytes
        self.autoSeal = autoSeal
    }

    @Sendable public static func wallClockMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    @Sendable public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
