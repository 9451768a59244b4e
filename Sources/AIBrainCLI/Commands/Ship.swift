import ArgumentParser
import EventLog
import Foundation
import Shipping

/// `aibrain ship push|pull|adopt|status`: repos exchange sealed segments with rsync (contract 8).
struct Ship: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract: "Exchange sealed segments with other repos over rsync; adopt what arrived, verified.",
        discussion: """
            A peer is the directory that contains .aibrain: a local path, or [user@]host:path over ssh. Only \
            sealed segments travel; they land in the receiver's incoming/<origin-id>/ and enter log/ only \
            after `ship adopt` verified them (checksums, SHA-256 against the seal, the seal chain, LSN \
            continuity). A different file for a position already adopted is a fork: quarantined, reported \
            with both hashes, never overwritten. Exit 5 when a fork or a corrupt arrival was found.
            """,
        subcommands: [ShipPush.self, ShipPull.self, ShipAdopt.self, ShipStatus.self])
}

/// How rsync is run (one declaration for push, pull and status).
struct RsyncArguments: ParsableArguments {
    @Option(help: ArgumentHelp("The rsync binary.", discussion: "Default: $AIBRAIN_RSYNC, else rsync from PATH."))
    var rsync: String?

    @Option(
        name: [.customShort("e"), .customLong("rsh")],
        help: ArgumentHelp(
            "The remote shell for host:path peers, passed to rsync -e.",
            discussion: "Default: $AIBRAIN_RSH, else ssh.", valueName: "command"))
    var rsh: String?

    @Option(help: ArgumentHelp("Bandwidth limit in KiB/s (rsync --bwlimit); 0 is unlimited.", valueName: "KiB/s"))
    var bwlimit: Int = 0

    @Option(
        help: ArgumentHelp("rsync's I/O timeout: a stalled link ends the transfer (0: none).", valueName: "seconds"))
    var timeout: Int = 600

    func validate() throws {
        guard bwlimit >= 0 else { throw ValidationError("--bwlimit must be 0 or more") }
        guard timeout >= 0 else { throw ValidationError("--timeout must be 0 or more") }
    }

    var options: RsyncOptions {
        let env = ProcessInfo.processInfo.environment
        return RsyncOptions(
            binary: rsync ?? env["AIBRAIN_RSYNC"].flatMap { $0.isEmpty ? nil : $0 } ?? "rsync",
            remoteShell: rsh ?? env["AIBRAIN_RSH"].flatMap { $0.isEmpty ? nil : $0 }, bandwidthLimit: bwlimit,
            timeoutSeconds: timeout)
    }
}

extension CLIError {
    init(_ e: ShipError) {
        let status: ExitStatus
        if let u = e.underlying {
            self.init(u)
            return
        }
        switch e.code {
        case .corruption: status = .corruption
        default: status = .error
        }
        self.init(status, code: e.code.rawValue, e.message, hint: e.hint)
        if let p = e.path { details.append(("path", .string(p))) }
    }
}

/// Runs a shipping body, reporting its errors like every other command.
func shipping(json: Bool, _ body: () throws -> Void) throws {
    try runReporting(json: json) {
        do { try body() } catch let e as ShipError { throw CLIError(e) }
    }
}

func parsePeer(_ text: String) throws -> Peer {
    do { return try Peer(parsing: text, workingDirectory: StoreLocator.workingDirectory()) } catch {
        throw CLIError(.usage, code: error.code.rawValue, error.message, hint: error.hint)
    }
}

struct ShipPush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Copy every sealed segment this store holds into the peer's incoming/, then this store's manifest.",
        discussion: """
            Its own and relayed origins travel, so hub-and-spoke topologies converge; segments the peer \
            adopted already are skipped. Nothing runs on the peer but rsync: the peer adopts with \
            `aibrain ship adopt` (cron) or its next `ship pull`. A killed transfer leaves no partial file \
            under a final name; run the push again to finish it.
            """)
    @OptionGroup var store: StoreOptions
    @Argument(
        help: ArgumentHelp("The directory that contains the peer's .aibrain (path or host:path).", valueName: "peer"))
    var peer: String
    @Flag(help: "First seal the open segment if it holds ≥ 1 MiB or is older than 10 minutes.")
    var seal = false
    @Flag(help: "With --seal: seal the open segment whatever its size or age.")
    var force = false
    @OptionGroup var transfer: RsyncArguments
    @OptionGroup var format: ReportOutput

    func validate() throws {
        if force && !seal { throw ValidationError("--force only applies with --seal") }
    }

    func run() throws {
        try shipping(json: format.json) {
            let root = try store.locate()
            let target = try parsePeer(peer)
            let shipper = Shipper(root: root, rsync: transfer.options)
            let r = try shipper.push(to: target, seal: seal ? (force, OpenOptions.wallClockMilliseconds()) : nil)
            let decision = r.sealed
            let events = r.manifest.origins.reduce(UInt64(0)) { $0 + $1.events }
            let segments = r.manifest.origins.reduce(0) { $0 + $1.segments }
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("peer", .string(r.peer)), ("sealed", sealJSON(decision)),
                        ("segments_sent", .int(Int64(r.segments.count))), ("bytes_sent", .int(r.bytes)),
                        ("files", .array(r.segments.map { .string($0) })),
                        ("milliseconds", .int(Int64(r.milliseconds))),
                        (
                            "manifest",
                            .object([
                                ("sent_as", .string(r.manifestSentAs)),
                                ("origins", .int(Int64(r.manifest.origins.count))),
                                ("segments", .int(Int64(segments))), ("events", .uint(events)),
                            ])
                        ),
                    ]).text)
                return
            }
            if let line = sealText(decision) { try Output.stdout.line(line) }
            try Output.stdout.line(
                "sent \(r.segments.count) segment\(r.segments.count == 1 ? "" : "s") (\(byteText(r.bytes))) to \(r.peer) in \(r.milliseconds) ms, then the manifest: \(r.manifest.origins.count) origin\(r.manifest.origins.count == 1 ? "" : "s"), \(segments) sealed segments, \(events) events"
            )
            if !r.segments.isEmpty {
                try Output.stdout.line(
                    "the peer adopts them with `aibrain ship adopt` there (cron), or with its next `aibrain ship pull`")
            }
        }
    }
}

func sealJSON(_ d: Shipper.SealDecision?) -> JSONOut {
    switch d {
    case nil: return .null
    case .nothingOpen: return .object([("action", .string("none")), ("reason", .string("no open events"))])
    case .kept(let bytes, let age):
        return .object([("action", .string("kept")), ("open_bytes", .int(bytes)), ("age_seconds", .int(age))])
    case .sealed(let events, let lsn):
        return .object([("action", .string("sealed")), ("events", .uint(events)), ("through_lsn", .uint(lsn))])
    }
}

func sealText(_ d: Shipper.SealDecision?) -> String? {
    switch d {
    case nil: return nil
    case .nothingOpen: return "seal: no open events to seal"
    case .kept(let bytes, let age):
        return
            "seal: kept the open segment (\(byteText(bytes)), \(age) s old: below 1 MiB and 10 minutes; --force seals it now)"
    case .sealed(let events, let lsn): return "sealed \(events) open events through LSN \(lsn) first"
    }
}

func byteText(_ n: Int64) -> String {
    if n < 1024 { return "\(n) B" }
    if n < 1 << 20 { return String(format: "%.1f KiB", Double(n) / 1024) }
    if n < 1 << 30 { return String(format: "%.1f MiB", Double(n) / 1_048_576) }
    return String(format: "%.2f GiB", Double(n) / 1_073_741_824)
}

struct ShipPull: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch the peer's sealed segments into incoming/ and adopt them.",
        discussion: "Reads the peer's manifest first, so adoption can check every count and seal hash it lists.")
    @OptionGroup var store: StoreOptions
    @Argument(
        help: ArgumentHelp("The directory that contains the peer's .aibrain (path or host:path).", valueName: "peer"))
    var peer: String
    @OptionGroup var transfer: RsyncArguments
    @OptionGroup var format: ReportOutput

    func run() throws {
        try shipping(json: format.json) {
            let root = try store.locate()
            let target = try parsePeer(peer)
            let shipper = Shipper(root: root, rsync: transfer.options)
            let r = try shipper.pull(from: target, adopter: Adopter(root: root))
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("peer", .string(r.peer)), ("segments_fetched", .int(Int64(r.segments.count))),
                        ("bytes_fetched", .int(r.bytes)), ("milliseconds", .int(Int64(r.milliseconds))),
                        ("adoption", adoptionJSON(r.adoption)),
                    ]).text)
            } else {
                try Output.stdout.line(
                    "fetched \(r.segments.count) segment\(r.segments.count == 1 ? "" : "s") (\(byteText(r.bytes))) from \(r.peer) in \(r.milliseconds) ms"
                )
                for l in adoptionText(r.adoption) { try Output.stdout.line(l) }
            }
            try adoptionOutcome(r.adoption, json: format.json)
        }
    }
}

struct ShipAdopt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adopt",
        abstract: "Verify what arrived in incoming/ and link it into log/ (safe from cron after any rsync).",
        discussion: """
            One adopter at a time (incoming/LOCK). The same file again is a no-op; a different file for an \
            adopted position is a fork, moved to quarantine/ with a report; a segment whose earlier LSNs \
            have not arrived waits in incoming/. Exit 5 when a fork or a corrupt arrival was found.
            """)
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("How long to wait for another adoption to finish.", valueName: "ms"))
    var lockTimeout: Int = 30_000
    @OptionGroup var format: ReportOutput

    func validate() throws {
        guard (0...86_400_000).contains(lockTimeout) else {
            throw ValidationError("--lock-timeout must be between 0 and 86400000 ms")
        }
    }

    func run() throws {
        try shipping(json: format.json) {
            let root = try store.locate()
            let r = try Adopter(root: root, lockTimeoutMilliseconds: lockTimeout).run()
            if format.json {
                try Output.stdout.line(adoptionJSON(r).text)
            } else {
                for l in adoptionText(r) { try Output.stdout.line(l) }
            }
            try adoptionOutcome(r, json: format.json)
        }
    }
}

/// The exit of an adoption that found something: 5 for forks and corrupt arrivals, else 1 for errors.
func adoptionOutcome(_ r: AdoptionReport, json: Bool) throws {
    var e: CLIError
    if r.needsAttention {
        e = CLIError(
            .corruption, code: "fork-or-corrupt",
            "\(r.count(.fork)) fork(s) and \(r.count(.corrupt)) corrupt arrival(s) were quarantined; nothing wrong was adopted",
            hint: "read the reports beside the files in quarantine/; a corrupt copy is sent again by the next push")
    } else if !r.errors.isEmpty {
        e = CLIError(
            .error, code: "adoption-incomplete",
            "\(r.errors.count) part(s) of the adoption failed (listed above); everything else was adopted",
            hint: "fix the cause named there and run `aibrain ship adopt` again")
    } else {
        return
    }
    e.reportedOnStdout = json
    throw e
}

func adoptionJSON(_ r: AdoptionReport) -> JSONOut {
    let arrivals: [JSONOut] = r.arrivals.map { a in
        .object([
            ("origin", .string(a.origin)), ("file", .string(a.file)), ("outcome", .string(a.outcome.rawValue)),
            ("first_lsn", .optional(a.firstLSN)), ("last_lsn", .optional(a.lastLSN)), ("bytes", .int(a.bytes)),
            ("arrived_seal", .optional(a.arrivedSeal)), ("adopted_seal", .optional(a.adoptedSeal)),
            ("quarantined_as", .optional(a.quarantinedAs)), ("detail", .string(a.detail)),
        ])
    }
    let checks: [JSONOut] = r.manifestChecks.map { c in
        .object([
            ("sender", .string(c.sender)), ("origin", .string(c.origin)), ("state", .string(c.state.word)),
            ("claimed_segments", .int(Int64(c.claimedSegments))), ("claimed_events", .uint(c.claimedEvents)),
            ("claimed_head", .optional(c.claimedHead)), ("detail", .string(c.detail)),
        ])
    }
    return .object([
        ("adopted", .int(Int64(r.count(.adopted)))), ("adopted_events", .uint(r.adoptedEvents)),
        ("duplicates", .int(Int64(r.count(.duplicate)))), ("forks", .int(Int64(r.count(.fork)))),
        ("corrupt", .int(Int64(r.count(.corrupt)))), ("waiting", .int(Int64(r.count(.waiting)))),
        ("ignored", .int(Int64(r.count(.ignored)))), ("partial_transfers", .int(Int64(r.partialTransfers))),
        ("removed_temporaries", .int(Int64(r.removedTemporaries))),
        ("milliseconds", .int(Int64(r.milliseconds))), ("waited_for_lock_ms", .int(Int64(r.waitedForLockMilliseconds))),
        ("lock_holder", .optional(r.lockHolder)),
        (
            "clock_ahead",
            .array(r.clockAhead.map { .object([("origin", .string($0.origin)), ("ms", .int($0.milliseconds))]) })
        ),
        ("arrivals", .array(arrivals)), ("manifest_checks", .array(checks)),
        ("manifest_errors", .array(r.manifestErrors.map { .string($0) })),
        ("errors", .array(r.errors.map { .string($0) })),
    ])
}

func adoptionText(_ r: AdoptionReport) -> [String] {
    var out: [String] = []
    if r.waitedForLockMilliseconds > 100 {
        out.append(
            "waited \(r.waitedForLockMilliseconds) ms for the adoption lock (held by pid \(r.lockHolder ?? "?"))")
    }
    out.append(
        "adopted \(r.count(.adopted)) segment\(r.count(.adopted) == 1 ? "" : "s") (\(r.adoptedEvents) events); \(r.count(.duplicate)) duplicate(s) removed; \(r.count(.fork)) fork(s); \(r.count(.corrupt)) corrupt; \(r.count(.waiting)) waiting"
    )
    for a in r.arrivals where a.outcome != .adopted || r.arrivals.count <= 20 {
        let lsns = a.firstLSN.map { f in "LSN \(f)–\(a.lastLSN ?? f)" } ?? ""
        out.append(
            "  \(a.outcome.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(a.origin.prefix(12))…/\(a.file) \(lsns)"
        )
        if a.outcome != .adopted { out.append("            \(a.detail)") }
        if let q = a.quarantinedAs { out.append("            quarantined as \(q) (report: \(q).json)") }
    }
    if r.partialTransfers > 0 {
        out.append(
            "  \(r.partialTransfers) partial transfer file(s) in incoming/ (an interrupted rsync; the next push resumes them)"
        )
    }
    if r.removedTemporaries > 0 {
        out.append(
            "  removed \(r.removedTemporaries) stale rsync temporary file(s) (older than an hour, or of segments adopted since)"
        )
    }
    for c in r.clockAhead {
        out.append(
            "  origin \(c.origin.prefix(12))…: clock \(c.milliseconds / 1000) s ahead of ours (counted only up to 60 s)"
        )
    }
    for c in r.manifestChecks {
        out.append("  manifest of \(c.sender.prefix(12))…, origin \(c.origin.prefix(12))…: \(c.detail)")
    }
    for e in r.manifestErrors { out.append("  \(e)") }
    for e in r.errors { out.append("  error: \(e)") }
    return out
}

struct ShipStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per origin: segments, events, bytes, LSN range, head seal; side by side with a peer's manifest.",
        discussion: """
            With PEER, reads the peer's store.json and CATALOG files with rsync (no segment is read). Without \
            it, compares with the manifests peers last sent here. Says "in sync", "behind by k segments" or \
            "forked at …" per peer; flags adopted clocks beyond the skew limit. Exit 5 when forked.
            """)
    @OptionGroup var store: StoreOptions
    @Argument(
        help: ArgumentHelp("The directory that contains the peer's .aibrain (path or host:path).", valueName: "peer"))
    var peer: String?
    @OptionGroup var transfer: RsyncArguments
    @OptionGroup var format: ReportOutput

    struct PeerView {
        var label: String
        var source: String
        var manifest: Manifest
        var comparison: SyncComparison
    }

    func run() throws {
        try shipping(json: format.json) {
            let root = try store.locate()
            let fs = PosixFileSystem()
            let paths = StorePaths(root: root)
            let ours = try Manifest.local(root: root)
            let now = OpenOptions.wallClockMilliseconds()
            var views: [PeerView] = []
            if let peer {
                let target = try parsePeer(peer)
                let theirs = try Shipper(root: root, rsync: transfer.options).peerManifest(target)
                views.append(
                    PeerView(
                        label: target.description, source: "fetched", manifest: theirs,
                        comparison: SyncComparison(ours: ours, theirs: theirs)))
            } else {
                let names = ((try? fs.listDirectory(paths.incoming)) ?? []).filter {
                    $0.hasSuffix(Adopter.manifestSuffix)
                }
                for n in names.sorted() {
                    let theirs: Manifest
                    do {
                        theirs = try Manifest.decode(try fs.readFile(paths.incoming + "/" + n), path: "incoming/" + n)
                    } catch {
                        Output.stderr(
                            "aibrain: warning: \((error as? ShipError)?.message ?? "incoming/\(n): \(error)") (skipped)"
                        )
                        continue
                    }
                    views.append(
                        PeerView(
                            label: "\(theirs.store.prefix(16))…", source: "incoming/" + n, manifest: theirs,
                            comparison: SyncComparison(ours: ours, theirs: theirs)))
                }
            }
            // What waits here: arrivals not adopted yet, interrupted transfers, quarantined files.
            var waiting: [String: Int] = [:]
            for n in (try? fs.listDirectory(paths.incoming)) ?? [] where OriginID(hex: n) != nil {
                // Waiting under their incoming name, or claimed by an adoption that was cut short.
                let dir = paths.incoming + "/" + n
                let files =
                    ((try? fs.listDirectory(dir)) ?? [])
                    + ((try? fs.listDirectory(dir + "/" + Adopter.claimFolder)) ?? [])
                let c = Set(files.filter { SegmentName.parse($0)?.sealed == true }).count
                if c > 0 { waiting[n] = c }
            }
            // The writer's clock floor (contract 6): ahead of this machine's clock when a peer's clock was.
            let floorAhead: Int64? = AdoptedClock.read(fs, paths).flatMap { h in
                HLC.milliseconds(h) > now ? HLC.milliseconds(h) - now : nil
            }
            var quarantined = 0
            for n in (try? fs.listDirectory(paths.quarantine)) ?? [] {
                quarantined +=
                    ((try? fs.listDirectory(paths.quarantine + "/" + n)) ?? []).filter { $0.hasSuffix(".json") }.count
            }
            let local = ours.store
            func ahead(_ o: Manifest.Origin) -> Int64? {
                guard o.origin != local, let h = o.lastHLC, AdoptedClock.isBeyondSkew(h, now: now) else { return nil }
                return HLC.milliseconds(h) - now
            }
            if format.json {
                let origins: [JSONOut] = ours.origins.map { o in
                    .object([
                        ("origin", .string(o.origin)), ("local", .bool(o.origin == local)),
                        ("segments", .int(Int64(o.segments))), ("events", .uint(o.events)), ("bytes", .int(o.bytes)),
                        ("first_lsn", .optional(o.firstLSN)), ("last_lsn", .optional(o.lastLSN)),
                        ("head_seal_hash", .optional(o.headSealHash)),
                        ("clock_ahead_ms", ahead(o).map { .int($0) } ?? .null),
                        ("waiting_in_incoming", .int(Int64(waiting[o.origin] ?? 0))),
                    ])
                }
                let peers: [JSONOut] = views.map { v in
                    .object([
                        ("peer", .string(v.label)), ("source", .string(v.source)), ("store", .string(v.manifest.store)),
                        ("name", .string(v.manifest.name)), ("in_sync", .bool(v.comparison.inSync)),
                        ("summary", .string(summary(v.comparison))),
                        (
                            "origins",
                            .array(
                                v.comparison.rows.map { row in
                                    .object(
                                        [
                                            ("origin", .string(row.origin)), ("state", .string(row.state.word)),
                                            ("ours", side(row.ours)), ("theirs", side(row.theirs)),
                                        ] + stateDetails(row.state))
                                })
                        ),
                    ])
                }
                try Output.stdout.line(
                    JSONOut.object([
                        ("store", .string(local)), ("name", .string(ours.name)), ("origins", .array(origins)),
                        ("waiting_in_incoming", .int(Int64(waiting.values.reduce(0, +)))),
                        ("quarantined", .int(Int64(quarantined))),
                        ("adopted_clock_ahead_ms", floorAhead.map { .int($0) } ?? .null), ("peers", .array(peers)),
                    ]).text)
            } else {
                try Output.stdout.line("store \(ours.name) (\(local))")
                var rows: [[String]] = []
                for o in ours.origins {
                    let lsns = o.firstLSN.map { "\($0)–\(o.lastLSN!)" } ?? "-"
                    var note = o.origin == local ? "local" : ""
                    if let w = waiting[o.origin] { note += (note.isEmpty ? "" : ", ") + "\(w) waiting in incoming/" }
                    if let a = ahead(o) { note += (note.isEmpty ? "" : ", ") + "clock \(a / 1000) s ahead" }
                    rows.append([
                        String(o.origin.prefix(16)) + "…", "\(o.segments)", "\(o.events)", byteText(o.bytes), lsns,
                        o.headSealHash.map { String($0.prefix(16)) + "…" } ?? "-", note,
                    ])
                }
                try Output.stdout.line(table(["origin", "segments", "events", "bytes", "LSNs", "head seal", ""], rows))
                for (o, w) in waiting.sorted(by: { $0.key < $1.key }) where ours.origin(o) == nil {
                    try Output.stdout.line(
                        "origin \(o.prefix(16))…: \(w) segment(s) waiting in incoming/ (run `aibrain ship adopt`)")
                }
                if quarantined > 0 {
                    try Output.stdout.line("quarantine: \(quarantined) file(s) with reports in quarantine/")
                }
                if let a = floorAhead {
                    try Output.stdout.line(
                        "clock: adopted events run \(a / 1000) s ahead of this machine's clock; new events here sort after them (counted up to 60 s ahead)"
                    )
                }
                if views.isEmpty && peer == nil {
                    try Output.stdout.line(
                        "no peer manifest here yet: name a peer (`aibrain ship status PEER`) or push to this store")
                }
                for v in views {
                    try Output.stdout.line("")
                    try Output.stdout.line("peer \(v.label) [\(v.manifest.name)]: \(summary(v.comparison))")
                    var prow: [[String]] = []
                    for row in v.comparison.rows {
                        prow.append([
                            String(row.origin.prefix(16)) + "…", sideText(row.ours), sideText(row.theirs),
                            stateText(row.state),
                        ])
                    }
                    try Output.stdout.line(table(["origin", "here", "peer", "state"], prow))
                }
            }
            if views.contains(where: { $0.comparison.forked }) {
                var e = CLIError(
                    .corruption, code: "forked",
                    "a peer holds a different history for an origin (see the forked or own-origin rows)",
                    hint: "find which store wrote both; adoption quarantines the other side's segments")
                e.reportedOnStdout = format.json
                throw e
            }
        }
    }

    func side(_ o: Manifest.Origin?) -> JSONOut {
        guard let o else { return .null }
        return .object([
            ("segments", .int(Int64(o.segments))), ("events", .uint(o.events)), ("bytes", .int(o.bytes)),
            ("last_lsn", .optional(o.lastLSN)), ("head_seal_hash", .optional(o.headSealHash)),
        ])
    }

    func sideText(_ o: Manifest.Origin?) -> String {
        guard let o, let last = o.lastLSN else { return "-" }
        return "\(o.segments) seg, LSN \(last), \(o.headSealHash!.prefix(12))…"
    }

    func stateDetails(_ s: SyncComparison.State) -> [(String, JSONOut)] {
        switch s {
        case .inSync: return []
        case .behind(let k): return [("behind_by", .int(Int64(k)))]
        case .ahead(let k): return [("ahead_by", .int(Int64(k)))]
        case .ownOriginAhead(let k): return [("own_origin_ahead_by", .int(Int64(k)))]
        case .forked(let lsn, let ourSegment, let ourSeal, let theirSegment, let theirSeal):
            return [
                ("forked_at_lsn", .uint(lsn)), ("our_segment", .string(ourSegment)), ("our_seal", .string(ourSeal)),
                ("their_segment", .string(theirSegment)), ("their_seal", .string(theirSeal)),
            ]
        }
    }

    func stateText(_ s: SyncComparison.State) -> String {
        switch s {
        case .inSync: return "in sync"
        case .behind(let k): return "behind by \(k) segment\(k == 1 ? "" : "s")"
        case .ahead(let k): return "peer behind by \(k) segment\(k == 1 ? "" : "s")"
        case .ownOriginAhead(let k):
            return
                "the peer holds \(k) more segment(s) of this store's own origin: another store writes as it, or this store lost its newest segments"
        case .forked(let lsn, let os, let oh, let ts, let th):
            return "forked at LSN \(lsn): here \(os) seal \(oh.prefix(16))…, peer \(ts) seal \(th.prefix(16))…"
        }
    }

    func summary(_ c: SyncComparison) -> String {
        if c.inSync { return "in sync" }
        if let f = c.rows.first(where: { if case .forked = $0.state { return true } else { return false } }),
            case .forked(let lsn, _, let oh, _, let th) = f.state
        {
            return
                "forked at origin \(f.origin.prefix(16))… LSN \(lsn) (here seal \(oh.prefix(16))…, peer seal \(th.prefix(16))…)"
        }
        if let f = c.rows.first(where: { if case .ownOriginAhead = $0.state { return true } else { return false } }) {
            return "conflict on this store's own origin: \(stateText(f.state))"
        }
        var parts: [String] = []
        let behind = c.rows.reduce(0) { if case .behind(let k) = $1.state { return $0 + k } else { return $0 } }
        let ahead = c.rows.reduce(0) { if case .ahead(let k) = $1.state { return $0 + k } else { return $0 } }
        if behind > 0 {
            parts.append("behind by \(behind) segment\(behind == 1 ? "" : "s") (pull, or have the peer push)")
        }
        if ahead > 0 { parts.append("the peer is behind by \(ahead) segment\(ahead == 1 ? "" : "s") (push)") }
        return parts.joined(separator: "; ")
    }
}
