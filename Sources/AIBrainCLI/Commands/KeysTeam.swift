import ArgumentParser
import EventLog
import Foundation
import Trust

/// `aibrain keys team …`: per-team encryption at rest (FORMAT.md "Encrypted payload regions").
struct TeamKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "team",
        abstract: "Team keys: encrypt a team's payloads at rest, rotate, share with another store.",
        discussion: """
            A team is encrypted iff it has a key: from `keys team add TEAM` on, the payloads of its events \
            are stored encrypted (ChaCha20-Poly1305, a key per segment derived from the team key). Envelopes \
            (type, stream, actor, team, times), file names and sizes stay readable, so verify, ship and the \
            envelope filters of tail/replay work without keys; a reader without the team's key shows \
            [encrypted: team TEAM]. Keys are in .aibrain/keys/teams/ (0700/0600) and are never shipped: \
            give a peer's readers access with `export` here and `import` there. Rotation makes a new version \
            for new segments only; every old version stays, read-only, so history stays readable. Removing a \
            member means a rotation: it protects future segments, not what they already had.
            """,
        subcommands: [TeamKeyAdd.self, TeamKeyRotate.self, TeamKeyList.self, TeamKeyExport.self, TeamKeyImport.self],
        defaultSubcommand: TeamKeyList.self)

    /// Moves the local writer to the keyring's new generation (a new segment; the old one is sealed).
    static func adopt(root: String) throws -> Bool {
        let log = try LogAccess.open(root)
        return try log.adoptKeyGeneration()
    }

    static func outcome(_ o: TeamKeyOperations.Outcome, rolled: Bool) -> JSONOut {
        .object([
            ("team", .string(o.team)), ("version", .int(Int64(o.version))), ("key_id", .string(o.keyID)),
            ("generation", .uint(UInt64(o.generation))), ("rolled", .bool(rolled)),
        ])
    }

    static func now() -> Int64 { OpenOptions.wallClockMilliseconds() }
}

struct TeamKeyAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Create TEAM's first key: its new events are stored encrypted from now on.")
    @Argument(help: ArgumentHelp("The team (the envelope's `team`; \"\" for events without one).", valueName: "team"))
    var team: String
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let o = try TeamKeyOperations.add(
                team: team, files: TeamKeyFiles(storeRoot: root), now: TeamKeysCommand.now())
            let rolled = try TeamKeysCommand.adopt(root: root)
            if format.json {
                try Output.stdout.line(TeamKeysCommand.outcome(o, rolled: rolled).text)
            } else {
                try Output.stdout.line(
                    "team \(o.team): key version \(o.version) (id \(o.keyID)), generation \(o.generation); its new events are encrypted"
                )
                Output.stderr("back up .aibrain/keys/: without it, this team's events can never be read again")
            }
        }
    }
}

struct TeamKeyRotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "A new key version for TEAM: new segments use it; old versions stay for reading.",
        discussion: """
            The keyring is written atomically first (the commit point), then the active segment is rolled so \
            new events use the new version at once. After a crash between the two, the next append rolls. \
            Each segment is encrypted under exactly one version per team: the one its header's generation names.
            """)
    @Argument(help: ArgumentHelp("The team.", valueName: "team")) var team: String
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let o = try TeamKeyOperations.rotate(
                team: team, files: TeamKeyFiles(storeRoot: root), now: TeamKeysCommand.now())
            let rolled = try TeamKeysCommand.adopt(root: root)
            if format.json {
                try Output.stdout.line(TeamKeysCommand.outcome(o, rolled: rolled).text)
            } else {
                try Output.stdout.line(
                    "team \(o.team): key version \(o.version) (id \(o.keyID)) from generation \(o.generation)"
                        + (rolled ? "; the active segment was rolled" : ""))
            }
        }
    }
}

struct TeamKeyList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The teams with a key, their versions and key ids (never the keys).")
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let ring = try TeamKeyFiles(storeRoot: try store.locate()).load()
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("generation", .uint(UInt64(ring.generation))),
                        (
                            "teams",
                            .array(
                                ring.teams.map { t in
                                    .object([
                                        ("team", .string(t.name)),
                                        (
                                            "versions",
                                            .array(
                                                t.versions.map { v in
                                                    .object([
                                                        ("version", .int(Int64(v.version))),
                                                        ("key_id", .string(v.keyIDHex)),
                                                        ("generation", .uint(UInt64(v.generation))),
                                                        (
                                                            "created_at",
                                                            .string(ISO8601.format(milliseconds: v.createdAt))
                                                        ),
                                                        ("imported", .bool(v.imported)),
                                                        ("active", .bool(v == t.active)),
                                                    ])
                                                })
                                        ),
                                    ])
                                })
                        ),
                    ]).text)
            } else if ring.teams.isEmpty {
                try Output.stdout.line("no team keys: payloads are stored in plaintext (`aibrain keys team add TEAM`)")
            } else {
                try Output.stdout.line("keyring generation \(ring.generation)")
                for t in ring.teams {
                    for v in t.versions {
                        try Output.stdout.line(
                            "team \(t.name.isEmpty ? "\"\"" : t.name) v\(v.version) \(v.keyIDHex) from generation \(v.generation)"
                                + (v.imported ? " (imported)" : "") + (v == t.active ? " active" : ""))
                    }
                }
            }
        }
    }
}

struct TeamKeyExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every version of TEAM's key to a file (mode 0600) for another store's `import`.",
        discussion: """
            The file is a secret: anyone holding it reads the team's payloads. It is never printed to a \
            terminal; `-o -` writes it to standard output only when that is not a terminal.
            """)
    @Argument(help: ArgumentHelp("The team.", valueName: "team")) var team: String
    @Option(
        name: .customLong("to"), help: ArgumentHelp("The file to write (or - for standard output).", valueName: "file"))
    var file: String
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let bytes = try TeamKeyOperations.export(team: team, files: TeamKeyFiles(storeRoot: root))
            if file == "-" {
                guard !Output.stdoutIsTerminal else {
                    throw CLIError.invalid(
                        "refusing to print team \(team)'s key to a terminal", hint: "redirect it, or give --to FILE")
                }
                try Output.stdout.line(String(decoding: bytes.dropLast(), as: UTF8.self))
                return
            }
            let fs = PosixFileSystem()
            let path = StoreLocator.absolute(file, in: StoreLocator.workingDirectory())
            do throws(SystemError) {
                try fs.writeFileAtomically(path, bytes, permissions: 0o600)
            } catch {
                throw EventLogError.system(error, "writing the exported key", path: path)
            }
            if format.json {
                try Output.stdout.line(JSONOut.object([("team", .string(team)), ("file", .string(path))]).text)
            } else {
                try Output.stdout.line(
                    "wrote team \(team)'s key to \(path) (mode 0600): give it to the other store, then delete it")
            }
        }
    }
}

struct TeamKeyImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add a team key exported by another store: its encrypted events become readable here.",
        discussion:
            "Versions this keyring holds already are skipped. The newest imported version also encrypts this store's new events of that team."
    )
    @Argument(help: ArgumentHelp("The file `keys team export` wrote.", valueName: "file")) var file: String
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let path = StoreLocator.absolute(file, in: StoreLocator.workingDirectory())
            let bytes: [UInt8]
            do throws(SystemError) {
                bytes = try PosixFileSystem().readFile(path)
            } catch {
                throw EventLogError.system(error, "reading the key file", path: path)
            }
            let added = try TeamKeyOperations.importKey(
                bytes, from: path, files: TeamKeyFiles(storeRoot: root), now: TeamKeysCommand.now())
            let rolled = added.isEmpty ? false : try TeamKeysCommand.adopt(root: root)
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([("imported", .array(added.map { TeamKeysCommand.outcome($0, rolled: rolled) }))])
                        .text)
            } else if added.isEmpty {
                try Output.stdout.line("nothing new: this keyring holds every version in \(path)")
            } else {
                for o in added {
                    try Output.stdout.line("imported team \(o.team) key \(o.keyID) as version \(o.version)")
                }
            }
        }
    }
}

/// `aibrain keys stream-key add STREAM --team TEAM`: makes a stream shreddable.
struct StreamKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream-key",
        abstract: "Per-stream data keys: payloads sealed so that `aibrain shred` can destroy them.",
        subcommands: [StreamKeyAdd.self])
}

struct StreamKeyAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Give STREAM a data key: from now on its payloads are sealed under it (crypto-shredding).",
        discussion: """
            The data key is stored only wrapped by TEAM's key, in .aibrain/keys/streams/ under a hash of the \
            stream (never its name). Events emitted before this stay as they are. `aibrain shred --stream \
            STREAM` destroys the key: the sealed payloads then read as [shredded], and verify and proofs stay \
            green (they cover the stored, sealed bytes).
            """)
    @Argument(help: ArgumentHelp("The stream, e.g. task/T-9.", valueName: "stream")) var stream: String
    @Option(help: ArgumentHelp("The team whose key wraps the data key (it must have one).", valueName: "team"))
    var team: String
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let c = try StreamKeys.create(
                stream: stream, team: team, files: TeamKeyFiles(storeRoot: root), now: TeamKeysCommand.now())
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("stream", .string(c.stream)), ("team", .string(c.team)), ("key_id", .string(c.dataKeyID)),
                        ("team_key_id", .string(c.teamKeyID)),
                    ]).text)
            } else {
                try Output.stdout.line(
                    "stream \(c.stream): data key \(c.dataKeyID), wrapped by team \(c.team)'s key \(c.teamKeyID)")
            }
        }
    }
}
