import Crypto
import EventLog
import Foundation

/// The team keys of a store (FORMAT.md "Team keyring"): every version of every team's 32-byte key, and the
/// store-wide generation that each add, rotation or import bumps. A segment's header names the generation it
/// was created under; for each team, the key encrypting it is the team's version with the highest
/// generation at or below that. Versions are never removed (old ones stay readable for the retention period).
public struct TeamKeyring: Sendable, Equatable {
    public struct Version: Sendable, Equatable {
        /// 1, 2, … per team, in the order this store got them.
        public var version: Int
        /// First 8 bytes of SHA-256("aibrain team key id v1" ‖ key), as stored in every region it encrypts.
        public var keyID: [UInt8]
        /// The store generation from which this version encrypts new segments.
        public var generation: UInt32
        public var createdAt: Int64
        /// Came from `keys team import` (another store's key), not made here.
        public var imported: Bool
        public var key: [UInt8]

        public var keyIDHex: String { hexString(keyID) }
    }

    public struct Team: Sendable, Equatable {
        public var name: String
        public var versions: [Version]
        public var active: Version? { versions.last }
    }

    public var generation: UInt32 = 0
    public var teams: [Team] = []

    public init() {}

    public static let keyBytes = 32

    /// The key id of `key` (FORMAT.md): names a key without revealing it.
    public static func keyID(of key: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: Array("aibrain team key id v1".utf8))
        h.update(data: key)
        return Array(h.finalize().prefix(Format.RegionMode.keyIDSize))
    }

    public func team(_ name: String) -> Team? { teams.first { $0.name.utf8.elementsEqual(name.utf8) } }

    /// The version that encrypts `team` in a segment of `generation`, nil when the team had no key then.
    public func encryptingVersion(team name: String, generation g: UInt32) -> Version? {
        team(name)?.versions.last { $0.generation <= g }
    }

    /// The version of `team` whose key id is `keyID`.
    public func version(team name: String, keyID: some Collection<UInt8>) -> Version? {
        team(name)?.versions.first { $0.keyID.elementsEqual(keyID) }
    }

    /// Adds `key` as the newest version of `team` from a new generation; returns it.
    @discardableResult
    public mutating func add(team name: String, key: [UInt8], now: Int64, imported: Bool = false) -> Version {
        precondition(key.count == Self.keyBytes)
        generation += 1
        let index = teams.firstIndex { $0.name.utf8.elementsEqual(name.utf8) }
        let v = Version(
            version: (index.map { teams[$0].versions.count } ?? 0) + 1, keyID: Self.keyID(of: key),
            generation: generation, createdAt: now, imported: imported, key: key)
        if let index { teams[index].versions.append(v) } else { teams.append(Team(name: name, versions: [v])) }
        return v
    }

    /// Adds `key` to `team` for reading only (an imported version older than this store's own): it goes
    /// before the local versions at the current generation, so `encryptingVersion` never picks it.
    @discardableResult
    public mutating func addForReading(team name: String, key: [UInt8], now: Int64) -> Version {
        precondition(key.count == Self.keyBytes)
        let index = teams.firstIndex { $0.name.utf8.elementsEqual(name.utf8) }!
        let v = Version(
            version: teams[index].versions.count + 1, keyID: Self.keyID(of: key), generation: generation,
            createdAt: now,
            imported: true, key: key)
        teams[index].versions.insert(v, at: 0)
        return v
    }

    public static func randomKey() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<keyBytes).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    // MARK: - File form

    struct FileForm: Codable {
        struct V: Codable {
            var version: Int
            var keyID: String
            var generation: UInt32
            var createdAt: Int64
            var imported: Bool
            var key: String
            enum CodingKeys: String, CodingKey {
                case version, generation, imported, key
                case keyID = "key_id"
                case createdAt = "created_at"
            }
        }
        struct T: Codable {
            var team: String
            var versions: [V]
        }
        var format: String
        var formatVersion: Int
        var generation: UInt32
        var teams: [T]
        enum CodingKeys: String, CodingKey {
            case format, generation, teams
            case formatVersion = "format_version"
        }
    }

    static let formatName = "aibrain-team-keyring"

    public func encoded() -> [UInt8] {
        let form = FileForm(
            format: Self.formatName, formatVersion: 1, generation: generation,
            teams: teams.map { t in
                .init(
                    team: t.name,
                    versions: t.versions.map {
                        .init(
                            version: $0.version, keyID: $0.keyIDHex, generation: $0.generation,
                            createdAt: $0.createdAt, imported: $0.imported,
                            key: Data($0.key).base64EncodedString())
                    })
            })
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try! e.encode(form)) + [0x0A]  // plain Codable of strings and integers: cannot fail
    }

    /// Decodes a keyring file. A version whose key does not hash to its recorded id is refused: a reader must
    /// never try a key under an id it does not have (so a wrong key can never be taken for the right one).
    public static func decode(_ bytes: [UInt8], path: String) throws(EventLogError) -> TeamKeyring {
        let form: FileForm
        do {
            form = try JSONDecoder().decode(FileForm.self, from: Data(bytes))
        } catch {
            throw EventLogError(
                .corruption, "the team keyring is not valid JSON (\(error))", path: path,
                hint: "restore .aibrain/keys/teams/ from a backup; without it encrypted events stay unreadable")
        }
        guard form.format == formatName, form.formatVersion == 1 else {
            throw EventLogError(
                .unsupported, "keyring format \(form.format) version \(form.formatVersion)", path: path,
                hint: "open this store with a newer aibrain")
        }
        var ring = TeamKeyring()
        ring.generation = form.generation
        for t in form.teams {
            var team = Team(name: t.team, versions: [])
            for v in t.versions {
                guard let key = Data(base64Encoded: v.key).map(Array.init), key.count == keyBytes,
                    hexString(keyID(of: key)) == v.keyID, v.generation <= form.generation
                else {
                    throw EventLogError(
                        .corruption,
                        "team \(t.team) key version \(v.version): the key does not match its id \(v.keyID) (or is not 32 bytes)",
                        path: path, hint: "restore .aibrain/keys/teams/ from a backup, or re-import the team's key")
                }
                team.versions.append(
                    Version(
                        version: v.version, keyID: keyID(of: key), generation: v.generation, createdAt: v.createdAt,
                        imported: v.imported, key: key))
            }
            ring.teams.append(team)
        }
        return ring
    }
}

/// `.aibrain/keys/teams/keyring.json` and `.aibrain/keys/streams/` on disk (mode 0700 / 0600, through the
/// FileSystem seam; never shipped).
public struct TeamKeyFiles: Sendable {
    public let fs: any FileSystem
    public let root: String

    public init(storeRoot: String, fs: any FileSystem = PosixFileSystem()) {
        self.fs = fs
        self.root = storeRoot
    }

    public var keysDirectory: String { root + "/keys" }
    public var teamsDirectory: String { keysDirectory + "/teams" }
    public var keyringPath: String { teamsDirectory + "/keyring.json" }
    public var streamsDirectory: String { keysDirectory + "/streams" }

    /// Makes a key file durable where it stands: fsync of the file, then of its directory and the directories
    /// above it up to the store root (a rename or a new directory entry is durable only after its directory's
    /// fsync). Used before anything is encrypted under a key whose own write may have failed after its rename.
    public func syncDurably(_ path: String) throws(EventLogError) {
        try fs.attempt("making a key file durable", path: path) { () throws(SystemError) in
            let fd = try fs.open(path, .readOnly)
            defer { fs.close(fd) }
            try fs.fsync(fd)
            var dir = directoryName(of: path)
            while dir.count >= root.count {
                try fs.fsyncDirectory(dir)
                if dir == root { break }
                dir = directoryName(of: dir)
            }
        }
    }

    /// The keyring, or an empty one when the store has none.
    public func load() throws(EventLogError) -> TeamKeyring {
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try fs.readFile(keyringPath)
        } catch {
            if error.errno == 2 { return TeamKeyring() }
            throw EventLogError.system(error, "reading the team keyring", path: keyringPath)
        }
        return try TeamKeyring.decode(bytes, path: keyringPath)
    }

    /// The identity of the keyring file (nil when absent): a change means another process wrote it.
    func status() -> FileStatus? { (try? fs.stat(keyringPath)) ?? nil }

    /// Writes the keyring atomically (tmp → fsync → rename → fsync dir): after a crash it is the old one or
    /// the new one. This write is the commit point of `add`, `rotate` and `import`.
    public func save(_ ring: TeamKeyring) throws(EventLogError) {
        try makePrivateDirectory(teamsDirectory)
        let bytes = ring.encoded()
        try fs.attempt("writing the team keyring", path: keyringPath) { () throws(SystemError) in
            try fs.writeFileAtomically(keyringPath, bytes, permissions: 0o600)
        }
    }

    /// Runs `body` (a load, a change and a save of the keyring) under an exclusive lock on
    /// `keys/teams/.lock`, so two concurrent `keys team` commands never save over each other's key.
    public func withLock<T>(_ body: () throws(EventLogError) -> T) throws(EventLogError) -> T {
        try makePrivateDirectory(teamsDirectory)
        let path = teamsDirectory + "/.lock"
        let fd = try fs.attempt("locking the team keyring", path: path) { () throws(SystemError) in
            let fd = try fs.open(path, .createOrOpen(permissions: 0o600))
            do throws(SystemError) {
                _ = try fs.lock(fd, nonBlocking: false)
            } catch {
                fs.close(fd)
                throw error
            }
            return fd
        }
        defer {
            fs.unlock(fd)
            fs.close(fd)
        }
        return try body()
    }

    func makePrivateDirectory(_ dir: String) throws(EventLogError) {
        try fs.attempt("creating a keys directory", path: dir) { () throws(SystemError) in
            for d in [keysDirectory, dir] {
                let existed = try fs.stat(d) != nil
                try fs.makeDirectories(d)
                if !existed { try fs.setMode(d, 0o700) }
            }
        }
    }
}
