import EventLog
import Foundation
import Synchronization

/// Set by SIGTERM/SIGINT; the tail loop stops at the next batch boundary (never between a printed line
/// and the cursor that covers it).
let tailStopRequested = Atomic<Int32>(0)

/// One `tail` run: the initial events, then (with -f) every new one, with the cursor bookkeeping that makes
/// restarts exact. Two cursors: `examined` moves past every record looked at (matched or not), `delivered`
/// is `examined` as of the last successful flush of stdout; only `delivered` is ever saved.
final class TailSession {
    let reader: StoreReader
    let filter: TailFilter
    let format: TailFormat
    let renderer: EventRenderer
    let cursorFile: String?
    let showCursor: Bool

    var examined = TailCursor()
    var delivered = TailCursor()
    /// Records examined since the last flush, each with the buffered output size once it was printed (or
    /// skipped): after a partial write, `delivered` moves exactly past the lines that reached the pipe.
    var unflushed: [(end: Int, mark: TailCursor.Mark)] = []
    var saved: TailCursor?
    var lastSave: UInt64 = 0
    /// Next LSN to read, per origin.
    var next: [OriginID: UInt64] = [:]
    var printedSinceFlush = 0
    /// Whether a cursor is kept (`--cursor-file`) or shown (`--show-cursor`); otherwise none is computed.
    var tracksCursor: Bool { cursorFile != nil || showCursor }

    init(
        reader: StoreReader, filter: TailFilter, format: TailFormat, renderer: EventRenderer, cursorFile: String?,
        showCursor: Bool
    ) {
        self.reader = reader
        self.filter = filter
        self.format = format
        self.renderer = renderer
        self.cursorFile = cursorFile
        self.showCursor = showCursor
    }

    func run(start: TailCursor?, lastN: Int?, follow: Bool) throws {
        // Only complete batches are written, at our boundaries (`flushBatch`), so the cursor can follow.
        Output.stdout.autoFlush = false
        if follow || cursorFile != nil { Self.installSignalHandlers() }
        do {
            if let start {
                examined = start
                delivered = start
                saved = start
                next = start.startLSNs
                try catchUp()
            } else if let lastN {
                try printLast(lastN)
            } else {
                try catchUp()
            }
            try flushBatch(force: true)
            if follow { try followLoop() }
        } catch is OutputClosed {
            // The reader went away: the cursor covers exactly what reached the pipe.
            try saveCursor(force: true)
            return
        } catch is StopTail {
            // Raised only right after a successful flush: `delivered` is exact.
            try saveCursor(force: true)
            return
        }
        try saveCursor(force: true)
        if showCursor { printCursorLine() }
        try? Output.stdout.flush()
    }

    // MARK: - Printing

    func emit(_ e: Event) throws {
        switch format {
        case .short: try Output.stdout.line(renderer.short(e))
        case .verbose: try Output.stdout.line(renderer.verbose(e) + "\n")
        case .json: try Output.stdout.line(EventRenderer.prettyJSON(e))
        case .jsonl: try Output.stdout.line(EventJSON.line(e))
        }
        printedSinceFlush += 1
    }

    /// Looks at one record: prints it if it matches; either way the cursor moves past it.
    func visit(_ e: Event) throws {
        if filter.matches(e) { try emit(e) }
        if tracksCursor {
            // Hashing every payload is only worth it when a cursor is kept or shown.
            let mark = TailCursor.mark(e)
            examined.advance(mark)
            unflushed.append((Output.stdout.pending, mark))
        }
        next[e.origin] = e.lsn + 1
        // Batches end after 4,096 lines, 1 MiB of output, or 65,536 records looked at (a filter that
        // matches little must not grow the bookkeeping without bound).
        if printedSinceFlush >= 4096 || Output.stdout.pending >= 1 << 20 || unflushed.count >= 65_536 {
            try flushBatch(force: false)
        }
    }

    /// Flushes stdout; then the cursor covers what was flushed and is saved (every printed batch; at most
    /// once a second when nothing was printed).
    func flushBatch(force: Bool) throws {
        let printed = printedSinceFlush > 0
        do {
            try Output.stdout.flush()
        } catch let closed as OutputClosed {
            // Part of the batch reached the pipe: the cursor covers exactly those lines.
            for u in unflushed where u.end <= closed.written { delivered.advance(u.mark) }
            unflushed = []
            throw closed
        }
        delivered = examined
        unflushed = []
        printedSinceFlush = 0
        try saveCursor(force: force || printed)
        if tailStopRequested.load(ordering: .relaxed) != 0 { throw StopTail() }
    }

    func saveCursor(force: Bool) throws {
        guard let cursorFile, saved != delivered, !delivered.marks.isEmpty else { return }
        let now = OpenOptions.monotonicNanoseconds()
        guard force || now - lastSave >= 1_000_000_000 else { return }
        try CursorFile.write(cursorFile, delivered)
        saved = delivered
        lastSave = now
    }

    func printCursorLine() {
        guard !delivered.marks.isEmpty else { return }
        if format == .json || format == .jsonl {
            Output.stderr("cursor: \(delivered.token)")
        } else {
            try? Output.stdout.line("-- cursor: \(delivered.token)")
        }
    }

    // MARK: - Reading

    /// Everything after `next` on every origin, in merged order.
    func catchUp() throws {
        try reader.forEachMerged(from: next) { e in
            try visit(e)
            return true
        }
    }

    /// The last `n` matching events in merged order; the cursor ends at every origin's head.
    func printLast(_ n: Int) throws {
        var chosen: [Event] = []
        if filter.isEmpty || (!filter.tasks.isEmpty && filter.since == nil) {
            // No scan: the newest n of each origin (no filter), or the tasks' histories (stream tables).
            var candidates: [Event] = []
            if filter.isEmpty {
                for log in reader.logs where log.headLSN > 0 {
                    let from = log.headLSN >= UInt64(n) ? log.headLSN - UInt64(n) + 1 : 1
                    try log.read(from: from) { e in
                        candidates.append(e)
                        return true
                    }
                }
            } else {
                for t in filter.tasks { candidates += try reader.history(stream: t) }
                candidates = Array(
                    Dictionary(candidates.map { ("\($0.origin.hex)/\($0.lsn)", $0) }, uniquingKeysWith: { a, _ in a })
                        .values)
                candidates = candidates.filter(filter.matches)
            }
            candidates.sort(by: StoreReader.mergedOrder)
            chosen = Array(candidates.suffix(n))
        } else {
            var ring: [Event] = []
            try reader.forEachMerged { e in
                if filter.matches(e) {
                    ring.append(e)
                    if ring.count - n > max(n, 1024) { ring.removeFirst(ring.count - n) }
                }
                return true
            }
            chosen = Array(ring.suffix(n))
        }
        for e in chosen { try emit(e) }
        // Everything up to each origin's head counts as examined, once all the chosen lines are out.
        for log in reader.logs where log.headLSN > 0 {
            if tracksCursor, let head = try log.event(lsn: log.headLSN) {
                let mark = TailCursor.mark(head)
                examined.advance(mark)
                unflushed.append((Output.stdout.pending, mark))
            }
            next[log.origin] = log.headLSN + 1
        }
    }

    // MARK: - Following

    struct StopTail: Error {}

    func followLoop() throws {
        let watcher = DirectoryWatcher()
        defer { watcher.close() }
        watcher.watch(reader.paths.log)
        for log in reader.logs { watcher.watch(log.directory) }
        do {
            while true {
                if tailStopRequested.load(ordering: .relaxed) != 0 { throw StopTail() }
                // Wake for changes; at the latest after 1 s to save a cursor that moved without output.
                let pendingSave = cursorFile != nil && saved != delivered
                _ = watcher.wait(milliseconds: watcher.isActive ? (pendingSave ? 1000 : 2000) : 500)
                if tailStopRequested.load(ordering: .relaxed) != 0 { throw StopTail() }
                let known = Set(reader.logs.map(\.origin))
                try reader.refresh()
                for log in reader.logs where !known.contains(log.origin) { watcher.watch(log.directory) }
                // Per origin in LSN order; origins in the order their new events are found.
                for log in reader.logs {
                    let from = next[log.origin] ?? 1
                    guard log.headLSN >= from else { continue }
                    try log.read(from: from) { e in
                        try visit(e)
                        return true
                    }
                }
                try flushBatch(force: false)
            }
        } catch is StopTail {
            try flushBatch(force: true)
        }
    }

    static func installSignalHandlers() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in tailStopRequested.store(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: poll() returns EINTR at once
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        // A parent may hand us a blocked signal mask (posix_spawn inherits it; Foundation's Process does
        // this): unblock, or SIGTERM would stay pending forever and the cursor never be saved.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

/// inotify on the log directories (each origin's folder sees its LOCK watermark move after every commit,
/// and new segments appear in it); when inotify is unavailable, plain polling every 500 ms.
final class DirectoryWatcher {
    private var fd: Int32
    private var watched = Set<String>()

    init() { fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }

    var isActive: Bool { fd >= 0 }

    func watch(_ path: String) {
        guard fd >= 0, !watched.contains(path) else { return }
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)
        if inotify_add_watch(fd, path, mask) >= 0 { watched.insert(path) }
    }

    /// Waits until something changed, the timeout passed, or a signal arrived. True if something changed.
    func wait(milliseconds: Int32) -> Bool {
        guard fd >= 0 else {
            usleep(UInt32(milliseconds) * 1000)
            return true
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&pfd, 1, milliseconds)
        guard r > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while buffer.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress!, $0.count) }) > 0 {}
        return true
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
