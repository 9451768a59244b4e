import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

struct Queue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "The work queue: items, leases, retries and dead letters, folded from the log.",
        discussion: """
            States: available → leased → completed; a failure or an expired lease goes to retryable while \
            attempts remain (backoff min(1s·2^(n-1), 100s)), else to failed, which the home origin discards \
            into the dead letters. Only an item's home origin leases, rescues and discards it; any origin may \
            heartbeat, complete or fail it with a lease that is valid at that event's clock. Illegal \
            transitions are refused with exit 3, naming the item's state.
            """,
        subcommands: [
            QueueList.self, QueueShow.self, QueueEnqueue.self, QueueLease.self, QueueNext.self, QueueHeartbeat.self,
            QueueComplete.self, QueueFail.self, QueueCancel.self, QueueReap.self,
        ])
}

struct WhoOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Who acts (default: $AIBRAIN_ACTOR).", valueName: "name")) var actor: String?
    @Option(help: ArgumentHelp("The acting team (default: $AIBRAIN_TEAM).", valueName: "team")) var team: String?
}

extension WorkItem {
    func json(_ access: ProjectionAccess, now: Int64) -> JSONOut {
        var m: [(String, JSONOut)] = [
            ("id", .string(id)), ("task_id", .string(task)), ("project", .string(project)),
            ("orchestrator_id", .string(orchestrator)), ("team", .string(team)), ("status", .string(status.name)),
            ("claimable", .bool(claimable(atMS: now))), ("session_ref", .string(sessionRef)),
            ("retry_count", .int(Int64(retryCount))), ("attempts", .int(Int64(attempts))),
            ("max_attempts", .int(Int64(maxAttempts))), ("priority", .int(Int64(priority))),
            ("error_log", .array(errors.map { .string($0) })),
            ("home_origin", .string(access.engine.origins.origin(home)?.hex ?? "")),
            ("enqueued_at", .string(rfc3339(HLC.milliseconds(enqueuedHLC)))),
            ("updated_at", .string(rfc3339(HLC.milliseconds(updatedHLC)))),
            ("age_ms", .int(now - HLC.milliseconds(enqueuedHLC))), ("events", .int(Int64(events))),
            ("legacy", .bool(legacy)),
        ]
        if !uniqueKey.isEmpty { m.append(("unique_key", .string(uniqueKey))) }
        if let l = lease {
            var lm: [(String, JSONOut)] = [("id", .string(l.id)), ("worker", .string(l.worker))]
            lm.append(("granted_at", .string(rfc3339(l.grantedMS))))
            if l.expiresMS != .max {
                lm.append(("expires_at", .string(rfc3339(l.expiresMS))))
                lm.append(("expired", .bool(l.expiresMS < now)))
            }
            m.append(("lease", .object(lm)))
        }
        if status == .retryable { m.append(("retry_at", .string(rfc3339(retryAtMS)))) }
        if !reason.isEmpty { m.append(("reason", .string(reason))) }
        m.append(("metadata", metadata.isEmpty ? .null : .raw(Array(metadata.utf8))))
        return .object(m)
    }

    func row(now: Int64) -> [String] {
        var lease = ""
        if let l = self.lease {
            lease = l.expiresMS == .max ? "\(l.worker)" : "\(l.worker) until \(rfc3339(l.expiresMS))"
            if l.expiresMS < now { lease += " (EXPIRED)" }
        } else if status == .retryable {
            lease = retryAtMS <= now ? "retry now" : "retry at \(rfc3339(retryAtMS))"
        }
        return [
            id, status.name, team.isEmpty ? "-" : team, project.isEmpty ? "-" : project, task.isEmpty ? "-" : task,
            "\(attempts)/\(maxAttempts)", String(retryCount), lease,
        ]
    }
}

struct QueueList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "Work items by status, team and project, with leases, retries and conflicts.")

    @Option(
        help: ArgumentHelp(
            "Only this status (available, leased, retryable, failed, completed, discarded, cancelled).",
            valueName: "status"))
    var status: String?
    @Option(help: ArgumentHelp("Only this team.", valueName: "team")) var team: String?
    @Option(help: ArgumentHelp("Only this project.", valueName: "project")) var project: String?
    @Option(help: ArgumentHelp("Only this task's items.", valueName: "id")) var task: String?
    @Flag(help: "Only items a worker may lease now.") var claimable = false
    @Flag(help: "Only the dead letters (discarded items).") var deadLetters = false
    @Option(help: ArgumentHelp("At most N items (newest first; 0: all).", valueName: "n")) var limit = 50
    @OptionGroup var nowOption: NowOption
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            if let s = status, ItemStatus(name: s) == nil {
                throw CLIError.usage(
                    "--status \(s): unknown",
                    hint: "use one of " + ItemStatus.allCases.map(\.name).joined(separator: ", "))
            }
            let now = try nowOption.milliseconds()
            let access = try ProjectionAccess(root: try store.locate())
            let q = access.engine.queue
            let all = q.allItems.filter {
                (status == nil || $0.status.name == status) && (team == nil || $0.team == team)
                    && (project == nil || $0.project == project) && (task == nil || $0.task == task)
                    && (!claimable || $0.claimable(atMS: now)) && (!deadLetters || $0.status == .discarded)
            }.sorted { $0.updatedHLC != $1.updatedHLC ? $0.updatedHLC > $1.updatedHLC : $0.id < $1.id }
            let shown = limit > 0 ? Array(all.prefix(limit)) : all
            var byStatus: [String: Int] = [:]
            for i in all { byStatus[i.status.name, default: 0] += 1 }
            let expired = all.filter { $0.leaseExpired(atMS: now) }.count
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("now", .string(rfc3339(now))), ("count", .int(Int64(all.count))),
                        (
                            "by_status",
                            .object(ItemStatus.allCases.map { ($0.name, .int(Int64(byStatus[$0.name] ?? 0))) })
                        ),
                        ("expired_leases", .int(Int64(expired))),
                        ("items", .array(shown.map { $0.json(access, now: now) })),
                        ("conflicts", .array(q.conflicts.map { conflictJSON($0, access) })),
                    ]).text)
                return
            }
            let counts = ItemStatus.allCases.compactMap { s in byStatus[s.name].map { "\($0) \(s.name)" } }
            try Output.stdout.line(
                "\(all.count) work item\(all.count == 1 ? "" : "s")"
                    + (counts.isEmpty ? "" : ": " + counts.joined(separator: ", "))
                    + (expired > 0
                        ? "; \(expired) expired lease\(expired == 1 ? "" : "s") (run `aibrain queue reap`)" : ""))
            if !shown.isEmpty {
                try Output.stdout.line(
                    table(
                        ["ITEM", "STATUS", "TEAM", "PROJECT", "TASK", "ATTEMPTS", "RETRIES", "LEASE"],
                        shown.map { $0.row(now: now) }))
            }
            if shown.count < all.count {
                try Output.stdout.line("(\(all.count - shown.count) more: --limit 0 shows all)")
            }
            if !q.conflicts.isEmpty {
                try Output.stdout.line(
                    "\n\(q.conflicts.count) conflict\(q.conflicts.count == 1 ? "" : "s") (events not applied; the earlier state stands):"
                )
                for c in q.conflicts.suffix(20) {
                    try Output.stdout.line("  [\(access.position(c.ref))] \(c.type) \(c.item): \(c.reason)")
                }
            }
        }
    }
}

func conflictJSON(_ c: QueueConflict, _ access: ProjectionAccess) -> JSONOut {
    .object([
        ("position", .string(access.position(c.ref))), ("hlc", .uint(c.hlc)), ("item", .string(c.item)),
        ("type", .string(c.type)), ("state", .string(c.state)), ("reason", .string(c.reason)),
    ])
}

struct QueueShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One work item and its events.")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @OptionGroup var nowOption: NowOption
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let now = try nowOption.milliseconds()
            let access = try ProjectionAccess(root: try store.locate())
            guard let i = access.engine.queue.item(item) else {
                throw CLIError(
                    .error, code: "not-found", "no work item \(item)", hint: "list them with `aibrain queue ls`")
            }
            let events = try access.reader.history(stream: "item/" + item)
            let conflicts = access.engine.queue.conflicts.filter { $0.item == item }
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("now", .string(rfc3339(now))), ("item", i.json(access, now: now)),
                        ("events", .array(events.map { .raw(EventJSON.line($0)) })),
                        ("conflicts", .array(conflicts.map { conflictJSON($0, access) })),
                    ]).text)
                return
            }
            var lines = [
                "\(i.id): \(i.status.name)" + (i.claimable(atMS: now) ? " (claimable)" : ""),
                "  task \(i.task)  project \(i.project)  team \(i.team)  orchestrator \(i.orchestrator)",
                "  attempts \(i.attempts)/\(i.maxAttempts), retries \(i.retryCount), priority \(i.priority)",
            ]
            if let l = i.lease {
                lines.append(
                    "  lease \(l.id) held by \(l.worker)"
                        + (l.expiresMS == .max ? "" : " until \(rfc3339(l.expiresMS))")
                        + (l.expiresMS < now ? " (EXPIRED)" : ""))
            }
            if i.status == .retryable { lines.append("  retry at \(rfc3339(i.retryAtMS))") }
            if !i.reason.isEmpty { lines.append("  reason: \(i.reason)") }
            for e in i.errors { lines.append("  error: \(e)") }
            lines.append("  \(events.count) indexed event\(events.count == 1 ? "" : "s") (item/\(item)):")
            for e in events {
                lines.append(
                    "    \(rfc3339(e.recordedAt))  \(e.type)  [\(e.origin == access.reader.localOrigin ? "" : e.origin.hex + ":")\(e.lsn)]"
                )
            }
            for c in conflicts { lines.append("  conflict [\(access.position(c.ref))] \(c.type): \(c.reason)") }
            try Output.stdout.line(lines.joined(separator: "\n"))
        }
    }
}

/// Prints what a queue command appended.
func reportAppended(_ r: AppendResult, _ drafts: [EventDraft], json: Bool, extra: [(String, JSONOut)] = []) throws {
    if json {
        try Output.stdout.line(
            JSONOut.object(
                extra + [
                    ("durable", .bool(r.durable)),
                    (
                        "events",
                        .array(
                            zip(drafts, r.events).map { d, a in
                                .object([
                                    ("type", .string(d.type)), ("event_id", .string(a.eventID)), ("lsn", .uint(a.lsn)),
                                    ("duplicate", .bool(a.duplicate)),
                                ])
                            })
                    ),
                ]
            ).text)
    } else {
        for (d, a) in zip(drafts, r.events) {
            try Output.stdout.line(
                a.duplicate
                    ? "already present: \(d.type) at LSN \(a.lsn) (nothing appended)"
                    : "appended \(d.type) at LSN \(a.lsn)")
        }
        let facts = extra.compactMap { k, v -> String? in
            switch v {
            case .string(let s): return "\(k.replacingOccurrences(of: "_", with: " ")) \(s)"
            case .bool(true): return k.replacingOccurrences(of: "_", with: " ")
            default: return nil
            }
        }
        if facts.count > 1 || (facts.count == 1 && !facts[0].hasPrefix("item ")) {
            try Output.stdout.line("  " + facts.joined(separator: ", "))
        }
    }
}

/// The item as the queue sees it now (its own history folded: cheap, no snapshot needed), and whether
/// this store is its home origin. Exit 3 when it was never enqueued.
func currentItem(_ id: String, root: String) throws -> (item: WorkItem, isHome: Bool) {
    let reader = try StoreReader(root: root)
    let engine = ReplayEngine()
    for e in try reader.history(stream: "item/" + id) { engine.fold(e) }
    guard let item = engine.queue.item(id) else {
        throw CLIError(
            .conflict, code: "illegal-transition", "work item \(id) was never enqueued",
            hint: "enqueue it with `aibrain queue enqueue \(id) --task TASK`")
    }
    return (item, engine.origins.origin(item.home) == reader.localOrigin)
}

struct QueueEnqueue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue", abstract: "Add a work item (available at once).")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @Option(help: ArgumentHelp("The task it belongs to.", valueName: "id")) var task: String
    @Option(help: ArgumentHelp("The project (app) it works on.", valueName: "name")) var project: String?
    @Option(name: .customLong("orchestrator"), help: ArgumentHelp("The orchestrator that routes it.", valueName: "id"))
    var orchestrator: String?
    @Option(
        name: .customLong("for-team"),
        help: ArgumentHelp("The team that should do it (default: the acting team).", valueName: "team"))
    var forTeam: String?
    @Option(
        name: .customLong("unique-key"),
        help: ArgumentHelp("Refuse (exit 3) while another item holds this key.", valueName: "key"))
    var uniqueKey: String?
    @Option(name: .customLong("max-attempts"), help: ArgumentHelp("Attempts before the dead letters.", valueName: "n"))
    var maxAttempts = 3
    @Option(help: ArgumentHelp("Higher is leased first.", valueName: "n")) var priority = 0
    @Option(help: ArgumentHelp("The origin that leases and rescues it (default: this store).", valueName: "origin"))
    var home: String?
    @Option(name: .customLong("session-ref"), help: ArgumentHelp("A session reference.", valueName: "ref"))
    var sessionRef: String?
    @Option(help: ArgumentHelp("Extra metadata: a JSON object.", valueName: "json")) var metadata: String?
    @Option(help: ArgumentHelp("What to do.", valueName: "text")) var description: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            guard (1...100).contains(maxAttempts) else { throw CLIError.usage("--max-attempts must be 1 to 100") }
            let root = try store.locate()
            var homeHex: String?
            if let home {
                let reader = try StoreReader(root: root)
                guard let o = OriginID(hex: home) ?? reader.logs.first(where: { $0.config.name == home })?.origin else {
                    throw CLIError.usage("--home \(home): not an origin id of this store", hint: "see `aibrain stats`")
                }
                homeHex = o.hex
            }
            var meta: JSONOut = .null
            if let metadata {
                guard (try? JSONScanner.members(of: Array(metadata.utf8))) != nil else {
                    throw CLIError.invalid("--metadata: not a JSON object")
                }
                meta = .raw(Array(metadata.utf8))
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            let d = try a.draft(
                .workItemEnqueued, task: task,
                [
                    ("work_item_id", .string(item)), ("project", project.map { .string($0) } ?? .null),
                    ("orchestrator_id", orchestrator.map { .string($0) } ?? .null),
                    ("team", (forTeam ?? (a.team.isEmpty ? nil : a.team)).map { .string($0) } ?? .null),
                    ("unique_key", uniqueKey.map { .string($0) } ?? .null),
                    ("home_origin", homeHex.map { .string($0) } ?? .null),
                    ("session_ref", sessionRef.map { .string($0) } ?? .null),
                    ("max_attempts", .int(Int64(maxAttempts))), ("priority", .int(Int64(priority))),
                    ("description", description.map { .string($0) } ?? .null), ("metadata", meta),
                ])
            let (r, _) = try a.append([d])
            try reportAppended(r, [d], json: report.json, extra: [("item", .string(item))])
        }
    }
}

/// What `queue lease` and `queue next` report about the lease they took.
func leaseFacts(_ i: WorkItem, leaseID: String, ttl: Int64, _ r: AppendResult) -> [(String, JSONOut)] {
    [
        ("item", .string(i.id)), ("task_id", .string(i.task)), ("lease_id", .string(leaseID)),
        ("expires_at", .string(rfc3339(HLC.milliseconds(r.events.last!.hlc) + ttl))),
    ]
}

struct LeaseOptions: ParsableArguments {
    @Option(
        name: .customLong("worker"),
        help: ArgumentHelp("The worker that takes it (default: the actor).", valueName: "name"))
    var workerName: String?
    @Option(help: ArgumentHelp("Lease duration: 90s, 5m, 2h (default 5m).", valueName: "duration")) var ttl = "5m"

    func worker(_ a: CommandAppender) -> String { workerName ?? (a.actor.isEmpty ? "worker" : a.actor) }
}

/// Lease drafts for one item: a rescue first when its lease has expired (counts as an attempt), then the
/// lease itself, or nil when it cannot be leased.
func leaseDrafts(_ item: WorkItem, _ a: CommandAppender, worker: String, ttl: Int64, now: Int64) throws
    -> (drafts: [EventDraft], leaseID: String)?
{
    var drafts: [EventDraft] = []
    var attempts = item.attempts
    if item.leaseExpired(atMS: now), let l = item.lease {
        drafts.append(
            try a.draft(
                .workItemRescued, task: item.task.isEmpty ? nil : item.task, stream: "item/" + item.id,
                [("work_item_id", .string(item.id)), ("lease_id", .string(l.id)), ("reason", .string("lease expired"))])
        )
        if attempts >= item.maxAttempts {
            drafts.append(
                try a.draft(
                    .workItemDiscarded, task: item.task.isEmpty ? nil : item.task, stream: "item/" + item.id,
                    [("work_item_id", .string(item.id)), ("reason", .string("attempts exhausted (\(attempts))"))]))
            return (drafts, "")
        }
    } else if !item.claimable(atMS: now) {
        return nil
    }
    attempts += 1
    let leaseID = "L-" + String(EventDraft.randomEventID().prefix(16))
    drafts.append(
        try a.draft(
            .workItemLeased, task: item.task.isEmpty ? nil : item.task, stream: "item/" + item.id,
            [
                ("work_item_id", .string(item.id)), ("lease_id", .string(leaseID)), ("worker", .string(worker)),
                ("ttl_ms", .int(ttl)), ("attempt", .int(Int64(attempts))),
            ]))
    return (drafts, leaseID)
}

struct QueueLease: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease", abstract: "Lease one item (rescuing it first if its lease expired).")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @OptionGroup var lease: LeaseOptions
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let ttl = try durationMS(lease.ttl, option: "--ttl")
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            let i = try currentItem(item, root: root).item
            let now = OpenOptions.wallClockMilliseconds()
            let worker = lease.worker(a)
            guard let (drafts, leaseID) = try leaseDrafts(i, a, worker: worker, ttl: ttl, now: now) else {
                throw CLIError(
                    .conflict, code: "illegal-transition", "work item \(item) is \(i.status.name), not claimable",
                    hint: i.status == .retryable ? "it may be leased from \(rfc3339(i.retryAtMS))" : nil)
            }
            let (r, _) = try a.append(drafts)
            if leaseID.isEmpty {
                throw CLIError(
                    .conflict, code: "exhausted",
                    "work item \(item): lease expired and attempts are exhausted; discarded")
            }
            try reportAppended(
                r, drafts, json: report.json,
                extra: leaseFacts(i, leaseID: leaseID, ttl: ttl, r))
        }
    }
}

struct QueueNext: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next", abstract: "Lease the best claimable item of a team (priority, then oldest).")
    @Option(
        name: .customLong("for-team"), help: ArgumentHelp("Whose items (default: the acting team).", valueName: "team"))
    var forTeam: String?
    @OptionGroup var lease: LeaseOptions
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let ttl = try durationMS(lease.ttl, option: "--ttl")
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            let team = forTeam ?? (a.team.isEmpty ? nil : a.team)
            let access = try ProjectionAccess(root: root)
            let now = OpenOptions.wallClockMilliseconds()
            let local = access.engine.origins.lookup(access.reader.localOrigin)
            let home = access.engine.queue.allItems.filter { $0.home == local && (team == nil || $0.team == team) }
            // Expired leases met on the way are rescued first (under the lock, by the same append).
            let candidates =
                (home.filter { $0.leaseExpired(atMS: now) }
                    + access.engine.queue.claimable(team: team, atMS: now)
                    .filter { $0.home == local })
            let worker = lease.worker(a)
            for i in candidates.prefix(20) {
                guard let (drafts, leaseID) = try leaseDrafts(i, a, worker: worker, ttl: ttl, now: now) else {
                    continue
                }
                do {
                    let (r, _) = try a.append(drafts)
                    if leaseID.isEmpty { continue }
                    try reportAppended(
                        r, drafts, json: report.json,
                        extra: leaseFacts(i, leaseID: leaseID, ttl: ttl, r))
                    return
                } catch let e as CLIError where e.status == .conflict {
                    continue  // another worker took it between our read and the lock: try the next one
                }
            }
            throw CLIError(
                .conflict, code: "queue-empty", "no claimable work item" + (team.map { " for team \($0)" } ?? ""),
                hint: "see `aibrain queue ls --claimable`")
        }
    }
}

struct LeaseCitation: ParsableArguments {
    @Option(help: ArgumentHelp("The lease this worker holds (required from other origins).", valueName: "lease"))
    var lease: String?
}

/// Appends one event about an item, resolving its task for the stream.
func itemEvent(_ kind: EventKind, item: String, root: String, who: WhoOptions, _ members: [(String, JSONOut)]) throws
    -> (AppendResult, [EventDraft], WorkItem)
{
    let i = try currentItem(item, root: root).item
    let a = CommandAppender(root: root, actor: who.actor, team: who.team)
    let d = try a.draft(
        kind, task: i.task.isEmpty ? nil : i.task, stream: "item/" + item, [("work_item_id", .string(item))] + members)
    let (r, _) = try a.append([d])
    return (r, [d], i)
}

struct QueueHeartbeat: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "heartbeat", abstract: "Extend a lease.")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @Option(help: ArgumentHelp("The lease held.", valueName: "lease")) var lease: String
    @Option(help: ArgumentHelp("New duration from now (default: the lease's).", valueName: "duration")) var ttl: String?
    @Option(help: ArgumentHelp("Progress note.", valueName: "text")) var progress: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let ttlMS = try ttl.map { try durationMS($0, option: "--ttl") }
            let (r, d, _) = try itemEvent(
                .workItemHeartbeat, item: item, root: try store.locate(), who: who,
                [
                    ("lease_id", .string(lease)), ("ttl_ms", ttlMS.map { .int($0) } ?? .null),
                    ("progress", progress.map { .string($0) } ?? .null),
                ])
            try reportAppended(r, d, json: report.json, extra: [("item", .string(item))])
        }
    }
}

struct QueueComplete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "complete", abstract: "Mark a leased item done.")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @OptionGroup var citation: LeaseCitation
    @Option(name: .customLong("session-ref"), help: ArgumentHelp("The session that did it.", valueName: "ref"))
    var sessionRef: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let (r, d, _) = try itemEvent(
                .workItemCompleted, item: item, root: try store.locate(), who: who,
                [
                    ("lease_id", citation.lease.map { .string($0) } ?? .null),
                    ("session_ref", sessionRef.map { .string($0) } ?? .null),
                ])
            try reportAppended(r, d, json: report.json, extra: [("item", .string(item))])
        }
    }
}

struct QueueFail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fail",
        abstract: "Record a failed attempt: retried with backoff while attempts remain, else into the dead letters.")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @Option(
        help: ArgumentHelp("What went wrong (kept in the item's error log; never put PII here).", valueName: "text"))
    var error: String
    @Flag(name: .customLong("no-retry"), help: "The failure is permanent: do not retry.") var noRetry = false
    @OptionGroup var citation: LeaseCitation
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let (i, isHome) = try currentItem(item, root: root)
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            let task = i.task.isEmpty ? nil : i.task
            var drafts = [
                try a.draft(
                    .workItemFailed, task: task, stream: "item/" + item,
                    [
                        ("work_item_id", .string(item)), ("error", .string(error)), ("retryable", .bool(!noRetry)),
                        ("lease_id", citation.lease.map { .string($0) } ?? .null),
                    ])
            ]
            let exhausted = noRetry || i.attempts >= i.maxAttempts
            // The home origin sends a dead letter at once; elsewhere its `queue reap` will.
            if exhausted && isHome {
                drafts.append(
                    try a.draft(
                        .workItemDiscarded, task: task, stream: "item/" + item,
                        [
                            ("work_item_id", .string(item)),
                            ("reason", .string(noRetry ? "permanent failure" : "attempts exhausted (\(i.attempts))")),
                        ]))
            }
            let (r, _) = try a.append(drafts)
            try reportAppended(
                r, drafts, json: report.json,
                extra: [("item", .string(item)), ("dead_letter", .bool(drafts.count > 1))])
        }
    }
}

struct QueueCancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel an item that is not finished.")
    @Argument(help: ArgumentHelp("The work item id.", valueName: "item")) var item: String
    @Option(help: ArgumentHelp("Why.", valueName: "text")) var reason: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let (r, d, _) = try itemEvent(
                .workItemCancelled, item: item, root: try store.locate(), who: who,
                [("reason", reason.map { .string($0) } ?? .null)])
            try reportAppended(r, d, json: report.json, extra: [("item", .string(item))])
        }
    }
}

struct QueueReap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reap",
        abstract: "Rescue every expired lease and discard exhausted items this store is home to (safe from cron).")
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let access = try ProjectionAccess(root: root)
            let now = OpenOptions.wallClockMilliseconds()
            let local = access.engine.origins.lookup(access.reader.localOrigin)
            let a = CommandAppender(root: root, actor: who.actor ?? "reaper", team: who.team)
            var drafts: [EventDraft] = []
            for i in access.engine.queue.allItems.sorted(by: { $0.id < $1.id }) where i.home == local {
                let task = i.task.isEmpty ? nil : i.task
                if i.leaseExpired(atMS: now), let l = i.lease {
                    drafts.append(
                        try a.draft(
                            .workItemRescued, task: task, stream: "item/" + i.id,
                            [
                                ("work_item_id", .string(i.id)), ("lease_id", .string(l.id)),
                                ("reason", .string("lease expired")),
                            ]))
                    if i.attempts >= i.maxAttempts {
                        drafts.append(
                            try a.draft(
                                .workItemDiscarded, task: task, stream: "item/" + i.id,
                                [
                                    ("work_item_id", .string(i.id)),
                                    ("reason", .string("attempts exhausted (\(i.attempts))")),
                                ]))
                    }
                } else if i.status == .failed {
                    drafts.append(
                        try a.draft(
                            .workItemDiscarded, task: task, stream: "item/" + i.id,
                            [
                                ("work_item_id", .string(i.id)),
                                ("reason", .string(i.errors.last.map { "failed: \($0)" } ?? "failed")),
                            ]))
                }
            }
            guard !drafts.isEmpty else {
                if report.json {
                    try Output.stdout.line(
                        JSONOut.object([("rescued", .int(0)), ("discarded", .int(0)), ("events", .array([]))]).text)
                } else {
                    try Output.stdout.line("nothing to reap")
                }
                return
            }
            let (r, _) = try a.append(drafts)
            let rescued = drafts.filter { $0.type == EventKind.workItemRescued.typeName }.count
            try reportAppended(
                r, drafts, json: report.json,
                extra: [("rescued", .int(Int64(rescued))), ("discarded", .int(Int64(drafts.count - rescued)))])
        }
    }
}
