import ArgumentParser
import EventLog
import Foundation
import Trust

/// `aibrain keys …`: the origin's signing key and the keys trusted for peers' origins.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "The origin's Ed25519 signing key, and the keys of peers whose signed seals this store checks.",
        discussion: """
            Keys live in .aibrain/keys/ (mode 0700, files 0600) and are never shipped. Every seal this \
            origin writes is signed with its key as a C2SP signed note; give the line `keys show` prints \
            to each peer, which records it with `keys trust`. Back the directory up: a lost key means new \
            seals cannot continue the signed history.
            """,
        subcommands: [
            KeysShow.self, KeysGenerate.self, KeysTrust.self, KeysList.self, TeamKeysCommand.self,
            StreamKeysCommand.self,
        ],
        defaultSubcommand: KeysShow.self)
}

struct KeysShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print this origin's verifier key (the line to give peers and auditors).")
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let keys = try KeyStore.local(storeRoot: try store.locate())
            let key = try keys.requireOriginKey().verifier
            // Where this origin's signed history starts (its first signed seal; 1:1 for a store made by 0.6).
            let since = try keys.signedSince(keys.origin)
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("origin", .string(keys.origin.hex)), ("verifier_key", .string(key.encoded)),
                        ("key_id", .string(hexString(key.keyID))), ("fingerprint", .string(key.fingerprint)),
                        ("signed_since", since.map { .string($0.description) } ?? .null),
                    ]).text)
            } else {
                try Output.stdout.line(key.encoded)
                Output.stderr(
                    "origin \(keys.origin.hex), key id \(hexString(key.keyID)), fingerprint \(key.fingerprint)\non a peer: aibrain keys trust \(keys.origin.hex) \(key.encoded)"
                        + (since.map { " --signed-since \($0)" } ?? "")
                )
            }
        }
    }
}

struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Create this origin's signing key (`init` does; for stores made before aibrain 0.6).",
        discussion: "Refuses to replace an existing key: seals signed with it would lose their verifier.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let keys = try KeyStore.local(storeRoot: try store.locate())
            let key = try keys.generateOriginKey().verifier
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("origin", .string(keys.origin.hex)), ("verifier_key", .string(key.encoded)),
                        ("key_id", .string(hexString(key.keyID))),
                    ]).text)
            } else {
                try Output.stdout.line("created the signing key of origin \(keys.origin.hex): \(key.encoded)")
            }
        }
    }
}

struct KeysTrust: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Trust a peer origin's verifier key: its seals must then be signed by it.",
        discussion: """
            From then on adoption refuses (quarantines) segments of ORIGIN that are signed by another key, \
            whose signature does not verify, or that are unsigned after its first signed seal; `verify` \
            checks its adopted seals too. Unsigned history before the first signed seal stays valid.
            """)
    @OptionGroup var store: StoreOptions
    @Argument(help: ArgumentHelp("The peer's origin id (32 hex digits).", valueName: "origin")) var origin: String
    @Argument(help: ArgumentHelp("Its verifier key, as `aibrain keys show` prints it there.", valueName: "key"))
    var key: String
    @Option(
        help: ArgumentHelp(
            "Every seal of ORIGIN from this position on is signed (as `keys show` prints it there): an unsigned one is refused even when nothing signed of it is held yet.",
            valueName: "epoch:lsn"))
    var signedSince: String?
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            guard let o = OriginID(hex: origin.lowercased()) else {
                throw CLIError.usage("ORIGIN `\(origin)` is not an origin id (32 hex digits)")
            }
            let keys = try KeyStore.local(storeRoot: try store.locate())
            let k = try NoteVerifierKey(parsing: key)
            let since = try signedSince.map { (t) throws -> SignedPosition in
                guard let p = SignedPosition(parsing: t) else {
                    throw CLIError.usage("--signed-since `\(t)`: expected EPOCH:LSN, e.g. 1:1")
                }
                return p
            }
            let added = try keys.trust(o, key: k, since: since)
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("origin", .string(o.hex)), ("key_id", .string(hexString(k.keyID))),
                        ("fingerprint", .string(k.fingerprint)), ("added", .bool(added)),
                        ("signed_since", since.map { .string($0.description) } ?? .null),
                    ]).text)
            } else {
                try Output.stdout.line(
                    added
                        ? "trusted key \(hexString(k.keyID)) (fingerprint \(k.fingerprint)) for origin \(o.hex)"
                        : "key \(hexString(k.keyID)) is already trusted for origin \(o.hex)")
            }
        }
    }
}

struct KeysList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List this origin's key and the trusted keys of peers.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let keys = try KeyStore.local(storeRoot: try store.locate())
            var rows: [(String, NoteVerifierKey, Bool)] = []
            if let own = try keys.originKey()?.verifier { rows.append((keys.origin.hex, own, true)) }
            for (o, ks) in try keys.trusted().sorted(by: { $0.key.hex < $1.key.hex }) {
                for k in ks { rows.append((o.hex, k, false)) }
            }
            if format.json {
                try Output.stdout.line(
                    JSONOut.array(
                        rows.map { r in
                            .object([
                                ("origin", .string(r.0)), ("local", .bool(r.2)), ("verifier_key", .string(r.1.encoded)),
                                ("key_id", .string(hexString(r.1.keyID))), ("fingerprint", .string(r.1.fingerprint)),
                            ])
                        }
                    ).text)
            } else if rows.isEmpty {
                try Output.stdout.line("no keys (create this origin's with `aibrain keys generate`)")
            } else {
                for r in rows {
                    try Output.stdout.line(
                        "\(r.0)  \(r.2 ? "local  " : "trusted")  key \(hexString(r.1.keyID))  fingerprint \(r.1.fingerprint)"
                    )
                }
            }
        }
    }
}

/// `aibrain head`: a signed statement of where this origin's sealed history stands, to keep off this host.
struct Head: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Print a signed head (origin, epoch, sealed segments, head seal) to keep somewhere else.",
        discussion: """
            The local seal chain cannot show that its newest segments were deleted or that the store was \
            rolled back to an older copy. Keep heads where this host cannot rewrite them (another repo, a \
            ticket, an auditor), e.g. after every `aibrain seal`; `aibrain verify --against FILE` then \
            detects deletion, rollback and rewritten history. The text is a C2SP signed note.
            """)
    @OptionGroup var store: StoreOptions
    @Option(
        name: [.customShort("w"), .customLong("out")], help: ArgumentHelp("Write it to this file.", valueName: "file"))
    var out: String?
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let keys = try KeyStore.local(storeRoot: root)
            let key = try keys.requireOriginKey()
            let reader = try StoreReader(root: root)
            let entries = reader.log(reader.localOrigin)?.sealedCatalog ?? []
            let head = SignedHead(
                origin: keys.origin, epoch: entries.last?.epoch ?? reader.config.epoch, segments: entries.count,
                lastLSN: entries.last?.lastLSN ?? 0, sealHash: entries.last?.sealHash,
                time: ISO8601.format(milliseconds: OpenOptions.wallClockMilliseconds()))
            let note = try head.signed(by: key).encoded
            if let out {
                let fs = PosixFileSystem()
                try fs.attempt("writing the head", path: out) { () throws(SystemError) in
                    try fs.writeFileAtomically(
                        StoreLocator.absolute(out, in: StoreLocator.workingDirectory()), Array(note.utf8))
                }
            }
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("origin", .string(head.origin.hex)), ("epoch", .uint(UInt64(head.epoch))),
                        ("segments", .int(Int64(head.segments))), ("last_lsn", .uint(head.lastLSN)),
                        ("seal_hash", .optional(head.sealHash.map(hexString))), ("time", .string(head.time)),
                        ("note", .string(note)),
                    ]).text)
            } else if out == nil {
                try Output.stdout.write(Array(note.utf8))
            } else {
                try Output.stdout.line(
                    "wrote the signed head (\(head.segments) sealed segments, LSN \(head.lastLSN)) to \(out!)")
            }
        }
    }
}

/// `aibrain prove`: one event with its inclusion proof and the signed seal, checkable without the log.
struct Prove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract:
            "Write a proof bundle for one sealed event: the event, its RFC 6962 inclusion proof, the signed seal.",
        discussion: """
            Hand the bundle to an auditor: `aibrain verify-proof FILE` (or any RFC 6962 verifier, with the \
            leaf `entry`, `leaf_index`, `tree_size` and the checkpoint's root) checks it without the log. The \
            event must be sealed (`aibrain seal`) in a signed segment.
            """)
    @OptionGroup var store: StoreOptions
    @Argument(help: ArgumentHelp("The event: [ORIGIN:]LSN.", valueName: "position")) var position: String
    @Option(
        name: [.customShort("w"), .customLong("out")],
        help: ArgumentHelp("Write the bundle here (default: stdout).", valueName: "file"))
    var out: String?

    func run() throws {
        try runReporting {
            let root = try store.locate()
            let reader = try StoreReader(root: root)
            guard case .event(let origin, let lsn) = try Position.parse(position, reader: reader) else {
                throw CLIError.usage("prove takes [ORIGIN:]LSN, not a cursor")
            }
            guard let log = reader.log(origin) else {
                throw CLIError.usage("origin \(origin.hex) is not in this store")
            }
            guard let entry = log.sealedCatalog.first(where: { $0.firstLSN <= lsn && lsn <= $0.lastLSN }) else {
                throw CLIError(
                    .error, code: EventLogError.Code.notFound.rawValue,
                    "LSN \(lsn) of origin \(origin.hex) is not in a sealed segment",
                    hint: lsn <= log.headLSN
                        ? "seal it first: `aibrain seal`" : "the origin's newest LSN is \(log.headLSN)")
            }
            let keys = try KeyStore.local(storeRoot: root)
            guard let verifier = try keys.verifiers(for: origin).first else {
                throw CLIError(
                    .error, code: EventLogError.Code.keyMissing.rawValue, "no key is known for origin \(origin.hex)",
                    hint: origin == keys.origin
                        ? "`aibrain keys generate`, then seal new events" : "`aibrain keys trust \(origin.hex) KEY`")
            }
            let bundle = try ProofBundle.make(
                segment: try log.openSealedSegment(entry), lsn: lsn, verifier: verifier,
                cipher: DefaultRegionCipher.cipher(for: StorePaths(root: root), fs: PosixFileSystem()))
            let bytes = try bundle.render()
            if let out {
                let fs = PosixFileSystem()
                try fs.attempt("writing the proof", path: out) { () throws(SystemError) in
                    try fs.writeFileAtomically(StoreLocator.absolute(out, in: StoreLocator.workingDirectory()), bytes)
                }
                Output.stderr(
                    "wrote the proof of \(origin.hex):\(lsn) (leaf \(bundle.leafIndex) of \(bundle.treeSize), \(bundle.path.count) hashes) to \(out)"
                )
            } else {
                try Output.stdout.write(bytes)
            }
        }
    }
}

/// `aibrain verify-proof`: checks a bundle from `aibrain prove`, without a log.
struct VerifyProof: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check a proof bundle without the log: canonical bytes, inclusion path, signed seal (exit 5 if not).",
        discussion: """
            The signature is checked with --key, else with the keys trusted by the store here (if any). \
            Without either it refuses (exit 1), unless --accept-bundle-key: then the key the bundle names \
            is used and reported as not trusted (compare its fingerprint with the one the origin published).
            """)
    @Argument(help: ArgumentHelp("The bundle file.", valueName: "file")) var file: String
    @Option(help: ArgumentHelp("The origin's verifier key (as `aibrain keys show` prints it).", valueName: "key"))
    var key: String?
    @Option(name: .long, help: ArgumentHelp("Use the keys trusted by this store.", valueName: "path")) var store:
        String?
    @Flag(
        help:
            "Without a given or trusted key, check with the key the bundle names (consistency only: not who signed).")
    var acceptBundleKey = false
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let fs = PosixFileSystem()
            let path = StoreLocator.absolute(file, in: StoreLocator.workingDirectory())
            let bytes = try fs.attempt("reading the proof", path: path) { () throws(SystemError) in
                try fs.readFile(path)
            }
            var keys: [NoteVerifierKey] = []
            if let key { keys = [try NoteVerifierKey(parsing: key)] }
            if keys.isEmpty, let origin = ProofBundle.peekOrigin(bytes),
                let root = try? StoreLocator.locate(
                    explicit: store, environment: ProcessInfo.processInfo.environment,
                    workingDirectory: StoreLocator.workingDirectory())
            {
                keys = try KeyStore.local(storeRoot: root).verifiers(for: origin)
            }
            if keys.isEmpty && !acceptBundleKey {
                throw CLIError(
                    .error, code: EventLogError.Code.keyMissing.rawValue,
                    "\(file): no key is given or trusted for the bundle's origin; the key inside the bundle proves nothing by itself",
                    hint:
                        "pass --key with the verifier key the origin published (aibrain keys show there), or --accept-bundle-key to check consistency only"
                )
            }
            let v = try ProofBundle.verify(bytes, path: file, keys: keys)
            let e = v.event
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("ok", .bool(true)), ("origin", .string(e.origin.hex)), ("epoch", .uint(UInt64(e.epoch))),
                        ("lsn", .uint(e.lsn)), ("type", .string(e.type)), ("event_id", .string(e.eventID)),
                        ("key_id", .string(hexString(v.key.keyID))), ("fingerprint", .string(v.key.fingerprint)),
                        ("key_trusted", .bool(v.keyIsTrusted)), ("event", .raw(EventJSON.line(e))),
                    ]).text)
            } else {
                try Output.stdout.line(
                    "proof OK: \(e.type) \(e.eventID) at \(e.origin.hex):\(e.lsn) (epoch \(e.epoch)) is in the seal signed by \(v.key.name) (key \(hexString(v.key.keyID)), fingerprint \(v.key.fingerprint))"
                )
                if !v.keyIsTrusted {
                    try Output.stdout.line(
                        "  the key was taken from the bundle itself: compare fingerprint \(v.key.fingerprint) with the one the origin published, or pass --key"
                    )
                }
            }
        }
    }
}
