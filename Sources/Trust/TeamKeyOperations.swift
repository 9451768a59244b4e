import EventLog
import Foundation

/// `aibrain keys team add|rotate|export|import` as library calls. Each writes the keyring once, atomically:
/// that write is the commit point. The caller then moves the writer to the new generation
/// (`EventLog.adoptKeyGeneration()`); if it crashes before that, the next commit of any writer does it.
public enum TeamKeyOperations {
    public struct Outcome: Sendable, Equatable {
        public var team: String
        public var version: Int
        public var keyID: String
        public var generation: UInt32
    }

    static func check(team: String) throws(EventLogError) {
        guard team.utf8.count <= Limits.maxTeamLength else {
            throw EventLogError(.invalidInput, "team \"\(team)\" is longer than \(Limits.maxTeamLength) bytes")
        }
    }

    /// A first key for `team` (from now on its new segments are encrypted).
    public static func add(team: String, files: TeamKeyFiles, now: Int64) throws(EventLogError) -> Outcome {
        try check(team: team)
        return try files.withLock { () throws(EventLogError) in try addLocked(team: team, files: files, now: now) }
    }

    static func addLocked(team: String, files: TeamKeyFiles, now: Int64) throws(EventLogError) -> Outcome {
        var ring = try files.load()
        if let t = ring.team(team) {
            throw EventLogError(
                .invalidInput, "team \"\(team)\" has a key already (version \(t.versions.count))",
                path: files.keyringPath, hint: "`aibrain keys team rotate \(team)` makes a new version")
        }
        let v = ring.add(team: team, key: TeamKeyring.randomKey(), now: now)
        try files.save(ring)
        return Outcome(team: team, version: v.version, keyID: v.keyIDHex, generation: v.generation)
    }

    /// A new key version for `team`: new segments use it; old versions stay for reading, forever.
    public static func rotate(team: String, files: TeamKeyFiles, now: Int64) throws(EventLogError) -> Outcome {
        try files.withLock { () throws(EventLogError) in try rotateLocked(team: team, files: files, now: now) }
    }

    static func rotateLocked(team: String, files: TeamKeyFiles, now: Int64) throws(EventLogError) -> Outcome {
        var ring = try files.load()
        guard ring.team(team) != nil else {
            throw EventLogError(
                .keyMissing, "team \"\(team)\" has no key to rotate", path: files.keyringPath,
                hint: "`aibrain keys team add \(team.isEmpty ? "TEAM" : team)` creates its first key")
        }
        let v = ring.add(team: team, key: TeamKeyring.randomKey(), now: now)
        try files.save(ring)
        return Outcome(team: team, version: v.version, keyID: v.keyIDHex, generation: v.generation)
    }

    struct ExportForm: Codable {
        struct V: Codable {
            var keyID: String
            var createdAt: Int64
            var key: String
            enum CodingKeys: String, CodingKey {
                case key
                case keyID = "key_id"
                case createdAt = "created_at"
            }
        }
        var format: String
        var formatVersion: Int
        var team: String
        var versions: [V]
        enum CodingKeys: String, CodingKey {
            case format, team, versions
            case formatVersion = "format_version"
        }
    }

    static let exportFormat = "aibrain-team-key-export"

    /// Every version of `team`'s key, as the file `import` reads (secret: write it with mode 0600).
    public static func export(team: String, files: TeamKeyFiles) throws(EventLogError) -> [UInt8] {
        let ring = try files.load()
        guard let t = ring.team(team) else {
            throw EventLogError(.keyMissing, "team \"\(team)\" has no key here", path: files.keyringPath)
        }
        let form = ExportForm(
            format: exportFormat, formatVersion: 1, team: team,
            versions: t.versions.map {
                .init(keyID: $0.keyIDHex, createdAt: $0.createdAt, key: Data($0.key).base64EncodedString())
            })
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try! e.encode(form)) + [0x0A]  // plain Codable of strings and integers: cannot fail
    }

    /// Adds the versions of an exported team key that this keyring does not hold. For a team new here, in the
    /// exporter's order, each from a new generation (the exporter's newest key becomes the active one); for a
    /// team that has keys here, for reading only.
    public static func importKey(_ bytes: [UInt8], from source: String, files: TeamKeyFiles, now: Int64)
        throws(EventLogError) -> [Outcome]
    {
        let form: ExportForm
        do {
            form = try JSONDecoder().decode(ExportForm.self, from: Data(bytes))
        } catch {
            throw EventLogError(.invalidInput, "not an exported team key (\(error))", path: source)
        }
        guard form.format == exportFormat, form.formatVersion == 1 else {
            throw EventLogError(.invalidInput, "not an exported team key (format \(form.format))", path: source)
        }
        try check(team: form.team)
        return try files.withLock { () throws(EventLogError) in
            try importLocked(form, from: source, files: files, now: now)
        }
    }

    static func importLocked(_ form: ExportForm, from source: String, files: TeamKeyFiles, now: Int64)
        throws(EventLogError) -> [Outcome]
    {
        var ring = try files.load()
        // A team this store already holds keys for keeps its own active key: imported versions only read
        // (an old export must never make a retired, perhaps leaked, key encrypt again).
        let hasLocal = ring.team(form.team) != nil
        var added: [Outcome] = []
        for v in form.versions {
            guard let key = Data(base64Encoded: v.key).map(Array.init), key.count == TeamKeyring.keyBytes,
                hexString(TeamKeyring.keyID(of: key)) == v.keyID
            else {
                throw EventLogError(
                    .invalidInput, "key \(v.keyID) of team \(form.team) does not match its id: the file is damaged",
                    path: source)
            }
            if ring.version(team: form.team, keyID: TeamKeyring.keyID(of: key)) != nil { continue }
            let nv =
                hasLocal
                ? ring.addForReading(team: form.team, key: key, now: now)
                : ring.add(team: form.team, key: key, now: now, imported: true)
            added.append(Outcome(team: form.team, version: nv.version, keyID: nv.keyIDHex, generation: nv.generation))
        }
        if !added.isEmpty { try files.save(ring) }
        return added
    }
}
