import Foundation

/// How eagerly commits reach the disk (contract 2). `always` is the default; the others are explicit
/// opt-ins, and their acknowledgements say `durable: false`.
public enum Durability: String, Codable, Sendable {
    /// fdatasync before every acknowledgement (group commit shares it).
    case always
    /// fdatasync at most every `syncIntervalMilliseconds`; acknowledgements in between are not durable.
    case interval
    /// Never fdatasync on commit (only when sealing). For tests and bulk loads that can be redone.
    case none
}

/// `store.json`: identity, policies and the instance fingerprint used to detect copied stores.
public struct StoreConfig: Codable, Sendable, Equatable {
    public struct Instance: Codable, Sendable, Equatable {
        /// Inode of `log/<origin-id>/`: a copy, clone or restore gets a new directory, hence a new inode.
        public var logDirectoryInode: UInt64
        enum CodingKeys: String, CodingKey { case logDirectoryInode = "log_dir_inode" }
    }

    public struct Head: Codable, Sendable, Equatable {
        public var epoch: UInt32
        public var lastSealedLSN: UInt64
        public var sealHash: String
        enum CodingKeys: String, CodingKey {
            case epoch
            case lastSealedLSN = "last_sealed_lsn"
            case sealHash = "seal_hash"
        }
    }

    public struct Policies: Codable, Sendable, Equatable {
        public var durability: Durability
        public var syncIntervalMilliseconds: Int
        public var rollBytes: Int
        public var rollAgeSeconds: Int
        public var lockTimeoutMilliseconds: Int

        public init(
            durability: Durability = .always, syncIntervalMilliseconds: Int = 100, rollBytes: Int = 16 << 20,
            rollAgeSeconds: Int = 3600, lockTimeoutMilliseconds: Int = 10_000
        ) {
            self.durability = durability
            self.syncIntervalMilliseconds = syncIntervalMilliseconds
            self.rollBytes = rollBytes
            self.rollAgeSeconds = rollAgeSeconds
            self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        }

        enum CodingKeys: String, CodingKey {
            case durability
            case syncIntervalMilliseconds = "sync_interval_ms"
            case rollBytes = "roll_bytes"
            case rollAgeSeconds = "roll_age_seconds"
            case lockTimeoutMilliseconds = "lock_timeout_ms"
        }
    }

    public var format: String
    public var formatVersion: Int
    public var originID: String
    public var name: String
    public var epoch: UInt32
    public var instance: Instance
    public var head: Head?
    public var policies: Policies

    public static let formatName = "aibrain-store"

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case originID = "origin_id"
        case name, epoch, instance, head, policies
    }

    public var origin: OriginID { OriginID(hex: originID)! }

    public func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding a struct of strings and integers cannot fail.
        return Array(try! e.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8], path: String) throws(EventLogError) -> StoreConfig {
        let c: StoreConfig
        do {
            c = try JSONDecoder().decode(StoreConfig.self, from: Data(bytes))
        } catch {
            throw EventLogError(
                .notAStore, "store.json does not parse: \(error)", path: path,
                hint: "restore store.json from a backup; the segments under log/ are untouched")
        }
        guard c.format == formatName, c.formatVersion == 1 else {
            throw EventLogError(
                .unsupported,
                "store.json has format \(c.format) version \(c.formatVersion); this build reads version 1",
                path: path)
        }
        guard OriginID(hex: c.originID) != nil else {
            throw EventLogError(.notAStore, "field `origin_id` must be 32 hex digits", path: path)
        }
        return c
    }
}

/// Paths inside a store directory (`.aibrain/`).
public struct StorePaths: Sendable {
    public let root: String
    public init(root: String) { self.root = root }
    public var config: String { root + "/store.json" }
    public var log: String { root + "/log" }
    public func originDirectory(_ origin: OriginID) -> String { log + "/" + origin.hex }
    public var incoming: String { root + "/incoming" }
    public var quarantine: String { root + "/quarantine" }
    public var projections: String { root + "/projections" }
    public var gitignore: String { root + "/.gitignore" }
    /// What `.aibrain/.gitignore` lists: every part of the store (handoff files stay visible to git).
    public static let ignoredEntries = [
        "/store.json", "/log/", "/incoming/", "/quarantine/", "/projections/", "/keys/", "*.tmp",
    ]
}
