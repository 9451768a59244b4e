import EventLog
import Foundation

/// What a store holds, per origin: every sealed segment with its LSN range, size and seal hash
/// (`schemas/manifest.schema.json`, FORMAT.md "Shipping").
///
/// A manifest is derived from the CATALOG files, so it costs no segment reads. `ship push` sends the
/// sender's manifest last (after every segment it lists), so a receiver that has the manifest has been
/// offered every segment in it; adoption checks the count and hash claims against what it adopted, and
/// `ship status` compares two manifests seal by seal to say "in sync", "behind" or "forked at".
public struct Manifest: Codable, Sendable, Equatable {
    public static let formatName = "aibrain-manifest"

    public struct Seal: Codable, Sendable, Equatable {
        public var name: String
        public var firstLSN: UInt64
        public var lastLSN: UInt64
        public var lastHLC: UInt64
        public var bytes: Int64
        public var sealHash: String

        enum CodingKeys: String, CodingKey {
            case name
            case firstLSN = "first_lsn"
            case lastLSN = "last_lsn"
            case lastHLC = "last_hlc"
            case bytes
            case sealHash = "seal_hash"
        }
    }

    public struct Origin: Codable, Sendable, Equatable {
        public var origin: String
        public var segments: Int
        public var events: UInt64
        public var bytes: Int64
        public var firstLSN: UInt64?
        public var lastLSN: UInt64?
        public var lastHLC: UInt64?
        public var headSealHash: String?
        public var seals: [Seal]

        enum CodingKeys: String, CodingKey {
            case origin, segments, events, bytes
            case firstLSN = "first_lsn"
            case lastLSN = "last_lsn"
            case lastHLC = "last_hlc"
            case headSealHash = "head_seal_hash"
            case seals
        }

        public init(origin: OriginID, entries: [Catalog.Entry]) {
            self.origin = origin.hex
            seals = entries.map {
                Seal(
                    name: $0.fileName, firstLSN: $0.firstLSN, lastLSN: $0.lastLSN, lastHLC: $0.lastHLC,
                    bytes: $0.fileSize, sealHash: hexString($0.sealHash))
            }
            segments = entries.count
            events = entries.reduce(0) { $0 + $1.eventCount }
            bytes = entries.reduce(0) { $0 + $1.fileSize }
            firstLSN = entries.first?.firstLSN
            lastLSN = entries.last?.lastLSN
            lastHLC = entries.last?.lastHLC
            headSealHash = entries.last.map { hexString($0.sealHash) }
        }
    }

    public var format: String
    public var version: Int
    /// The origin id of the store that wrote this manifest.
    public var store: String
    public var name: String
    /// Sorted by origin id.
    public var origins: [Origin]

    public init(store: OriginID, name: String, origins: [Origin]) {
        format = Self.formatName
        version = 1
        self.store = store.hex
        self.name = name
        self.origins = origins.sorted { $0.origin < $1.origin }
    }

    public func origin(_ hex: String) -> Origin? { origins.first { $0.origin == hex } }

    public func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A struct of strings and integers always encodes.
        return Array(try! e.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8], path: String) throws(ShipError) -> Manifest {
        let m: Manifest
        do {
            m = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch {
            throw ShipError(
                .corruption, "manifest \(path) does not parse: \(error)",
                hint: "it is derived data: delete it and push again", path: path)
        }
        guard m.format == formatName, m.version == 1 else {
            throw ShipError(
                .corruption, "manifest \(path) has format \(m.format) version \(m.version); this build reads version 1",
                path: path)
        }
        guard OriginID(hex: m.store) != nil, m.origins.allSatisfy({ OriginID(hex: $0.origin) != nil }) else {
            throw ShipError(.corruption, "manifest \(path) names an origin that is not 32 hex digits", path: path)
        }
        return m
    }

    /// The manifest of the store at `root`, from each origin's catalog (rebuilt from the seals in memory
    /// where a CATALOG is stale).
    public static func local(root: String, fs: any FileSystem = PosixFileSystem()) throws(ShipError) -> Manifest {
        let reader = try engine { () throws(EventLogError) in try StoreReader(root: root, fs: fs, blockCacheBytes: 0) }
        return Manifest(
            store: reader.localOrigin, name: reader.config.name,
            origins: reader.logs.map { Origin(origin: $0.origin, entries: $0.sealedCatalog) })
    }

    /// The manifest of a store whose `store.json` and `log/*/CATALOG` were fetched into `directory`
    /// (`ship status PEER`, `ship pull`): the peer's own record of what it holds.
    static func fetched(_ directory: String, peer: Peer, fs: any FileSystem) throws(ShipError) -> Manifest {
        let config = try fetchedConfig(directory, peer: peer, fs: fs)
        var origins: [Origin] = []
        let names = (try? fs.listDirectory(directory + "/log")) ?? []
        for n in names.sorted() {
            guard let o = OriginID(hex: n) else { continue }
            let path = directory + "/log/" + n + "/CATALOG"
            guard let bytes = try? fs.readFile(path) else {
                origins.append(Origin(origin: o, entries: []))
                continue
            }
            let catalog: Catalog
            do throws(DecodeFailure) {
                catalog = try Catalog.decode(bytes)
            } catch {
                // Derived data: not corruption of the log (exit 1, not 5).
                throw ShipError(
                    .storage,
                    "the peer's CATALOG of origin \(n) does not decode (\(error.field): \(error.reason))",
                    hint:
                        "it is rebuilt from the seals there: by `aibrain ship adopt` for an adopted origin, by any writing command (e.g. `aibrain seal`) for the peer's own",
                    path: peer.rsyncPath("log/\(n)/CATALOG"))
            }
            origins.append(Origin(origin: o, entries: catalog.entries))
        }
        return Manifest(store: config.origin, name: config.name, origins: origins)
    }

    /// The peer's `store.json` from a fetched directory.
    static func fetchedConfig(_ directory: String, peer: Peer, fs: any FileSystem) throws(ShipError) -> StoreConfig {
        guard let configBytes = try? fs.readFile(directory + "/store.json") else {
            throw ShipError(
                .notAStore, "\(peer) holds no store (store.json is missing)",
                hint: "run `aibrain init` in the peer's directory first, or check the path")
        }
        return try engine { () throws(EventLogError) in
            try StoreConfig.decode(configBytes, path: peer.rsyncPath("store.json"))
        }
    }
}
