import EventLog

#if canImport(Glibc)
    import Glibc
#endif

/// A peer: the directory that contains `.aibrain`, on this machine or `[user@]host:path` over ssh
/// (rsync's own syntax: a colon before the first slash means a remote host).
public struct Peer: Sendable, Equatable, CustomStringConvertible {
    /// nil for a local peer.
    public var host: String?
    /// The peer's `.aibrain` directory (absolute for a local peer; as given, relative to the remote home
    /// directory otherwise).
    public var storePath: String

    public init(parsing text: String, workingDirectory: String) throws(ShipError) {
        guard !text.isEmpty else { throw ShipError(.invalidPeer, "the peer is empty", hint: Self.hint) }
        if text.hasPrefix("-") {
            throw ShipError(
                .invalidPeer, "peer \(text) starts with '-' (it would be read as an rsync option)", hint: Self.hint)
        }
        if text.hasPrefix("rsync://") || (!text.hasPrefix("[") && text.contains("::")) {
            throw ShipError(
                .invalidPeer, "peer \(text) names an rsync daemon; aibrain ships over ssh or to a local directory",
                hint: Self.hint)
        }
        var path = text
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") {
            // [IPv6]:path
            host = String(text[...close])
            path = String(text[text.index(close, offsetBy: 2)...])
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            let h = String(text[..<colon])
            guard !h.isEmpty else { throw ShipError(.invalidPeer, "peer \(text) has an empty host", hint: Self.hint) }
            host = h
            path = String(text[text.index(after: colon)...])
        } else {
            host = nil
            if !path.hasPrefix("/") { path = workingDirectory + "/" + path }
        }
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        if lastPathComponent(path) == ".aibrain" {
            storePath = path
        } else {
            storePath = path.isEmpty ? ".aibrain" : path + "/.aibrain"
        }
        if host == nil { storePath = Self.normalize(storePath) }
    }

    static let hint = "name the directory that contains .aibrain: /path/to/repo, ../repo or host:path/to/repo"

    public var isLocal: Bool { host == nil }

    /// rsync's spelling of a path inside the peer's store.
    public func rsyncPath(_ inside: String) -> String {
        let p = inside.isEmpty ? storePath : storePath + "/" + inside
        return host.map { "\($0):\(p)" } ?? p
    }

    public var description: String { host.map { "\($0):\(storePath)" } ?? storePath }

    /// Removes `.` and `..` components of an absolute path (without resolving symlinks).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/") {
            if c == "." || c.isEmpty { continue }
            if c == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// How rsync is run: which binary, which remote shell, bandwidth and I/O timeout.
public struct RsyncOptions: Sendable {
    /// The rsync binary (`$AIBRAIN_RSYNC`, default `rsync` from PATH).
    public var binary: String
    /// The remote shell for `host:path` peers (`-e`; `$AIBRAIN_RSH`, default rsync's: ssh).
    public var remoteShell: String?
    /// KiB/s, 0 = unlimited.
    public var bandwidthLimit: Int
    /// rsync's I/O timeout in seconds (0 = none): a stalled link ends the transfer instead of hanging a cron job.
    public var timeoutSeconds: Int

    public init(
        binary: String = "rsync", remoteShell: String? = nil, bandwidthLimit: Int = 0, timeoutSeconds: Int = 600
    ) {
        self.binary = binary
        self.remoteShell = remoteShell
        self.bandwidthLimit = bandwidthLimit
        self.timeoutSeconds = timeoutSeconds
    }
}

/// The rsync invocations shipping uses (log-engines.md §6, audit-security.md §7).
///
/// Rule: never `--inplace`, `--append` or `--partial` without a partial dir. Files arrive under a temporary
/// dot-name (or in `.rsync-partial/`) and are renamed into place only when complete, `--ignore-existing`
/// never rewrites a file the receiver has, and `--compare-dest=../log/` skips every segment the receiver
/// already adopted. Why: adoption must never see half a segment, and sealed segments are immutable. What if
/// broken: a killed transfer could leave a truncated `.seg` under its final name; adoption would then
/// reject it as corrupt (it verifies everything), but a partial file must never even be a candidate.
struct Rsync {
    var options: RsyncOptions
    /// Whether this rsync knows `--fsync` (3.2.4+), probed once.
    private var fsyncSupported: Bool?

    init(options: RsyncOptions) { self.options = options }

    /// One transferred file: its path relative to the destination and its size.
    struct Transferred: Sendable, Equatable {
        var path: String
        var bytes: Int64
    }

    /// `immutable`: files that exist on the receiver are never rewritten (segments); manifests, which are
    /// replaced by every push, pass false.
    /// `remoteReceiver`: the receiving rsync runs on a peer host. `--fsync` is then left out: rsync forwards
    /// it to the peer's rsync, which may predate it (3.2.4) and would refuse every push; adoption fsyncs
    /// each arrival itself before linking it anyway.
    mutating func common(immutable: Bool = true, remoteReceiver: Bool) throws(ShipError) -> [String] {
        var args = [options.binary, "-rt", "--partial-dir=.rsync-partial", "--delay-updates"]
        if immutable { args.append("--ignore-existing") }
        if !remoteReceiver, try supportsFsync() { args.append("--fsync") }
        if let rsh = options.remoteShell { args += ["-e", rsh] }
        if options.bandwidthLimit > 0 { args.append("--bwlimit=\(options.bandwidthLimit)") }
        if options.timeoutSeconds > 0 { args.append("--timeout=\(options.timeoutSeconds)") }
        return args
    }

    mutating func supportsFsync() throws(ShipError) -> Bool {
        if let fsyncSupported { return fsyncSupported }
        let r = try Subprocess.run([options.binary, "--help"])
        let yes = r.stdoutText.contains("--fsync")
        fsyncSupported = yes
        return yes
    }

    /// Copies every sealed segment under `source` (a `log/` directory: `<origin>/<name>.seg`) into
    /// `destination` (an `incoming/` directory), skipping what `../log/` beside the destination holds.
    mutating func shipSegments(from source: String, to destination: String, remoteReceiver: Bool)
        throws(ShipError) -> [Transferred]
    {
        var args = try common(remoteReceiver: remoteReceiver)
        args += [
            "--compare-dest=../log/", "--prune-empty-dirs", "--include=/*/", "--include=/*/*.seg", "--exclude=*",
            "--out-format=%n\t%l", source + "/", destination + "/",
        ]
        return Self.parseTransfers(try run(args, doing: "shipping segments from \(source) to \(destination)"))
    }

    /// Copies one file to `destination` (a file path whose directory exists).
    mutating func shipFile(_ source: String, to destination: String, remoteReceiver: Bool) throws(ShipError) {
        var args = try common(immutable: false, remoteReceiver: remoteReceiver)
        args += [source, destination]
        _ = try run(args, doing: "sending \(lastPathComponent(source)) to \(destination)")
    }

    /// Fetches a peer's identity and CATALOG files (no segments) into `destination`.
    /// `configOnly`: just `store.json` (who the peer is).
    mutating func fetchCatalogs(from store: String, to destination: String, configOnly: Bool = false)
        throws(ShipError)
    {
        var args = try common(remoteReceiver: false)
        args += ["--include=/store.json"]
        if !configOnly { args += ["--include=/log/", "--include=/log/*/", "--include=/log/*/CATALOG"] }
        args += ["--exclude=*", store + "/", destination + "/"]
        _ = try run(args, doing: "reading the peer's catalog at \(store)")
    }

    /// How often a transfer that lost a race with another transfer into the same directory runs again.
    static let raceRetries = 4

    /// Runs rsync; returns what it printed on stdout (over every attempt).
    ///
    /// Rule: a transfer that failed only because another transfer into the same directory ran at once is run
    /// again, at most `raceRetries` times. Why: `--delay-updates` stages finished files in one shared
    /// `.rsync-partial/`; when two transfers (a cron push and a pull, two pushes of one store) receive the same
    /// file, the first to finish renames it into place and the other's rename fails with ENOENT (exit 23),
    /// though the file is there, complete. Running again sends only what is still missing
    /// (`--ignore-existing`). Any other error is reported at once. What if broken: concurrent shipping into
    /// one store fails at random, and a user's cron line reports errors for transfers that were fine.
    private func run(_ args: [String], doing: String) throws(ShipError) -> String {
        var out: [UInt8] = []
        var attempt = 0
        while true {
            let r = try Subprocess.run(args)
            out += r.stdout
            if r.signal == nil, r.status == 23, attempt < Self.raceRetries, Self.lostARace(r.stderrText) {
                attempt += 1
                usleep(UInt32(20_000 << attempt) + UInt32.random(in: 0..<20_000))
                continue
            }
            try check(r, doing: attempt == 0 ? doing : "\(doing) (tried \(attempt + 1) times)")
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// True when every line rsync printed on stderr comes from a race over the shared partial directory: a
    /// staged file renamed away by another transfer, or the directory removed by it (the messages of rsync
    /// 3.5.0, here; older versions print them without the `[receiver]` role, which this does not require).
    static func lostARace(_ stderr: String) -> Bool {
        var raced = false
        for line in stderr.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("rsync error: some files/attrs were not transferred") { continue }
            let staged = line.hasPrefix("rsync: ") && line.contains(".rsync-partial")
            if staged && line.hasSuffix("No such file or directory (2)")
                || line.hasPrefix("Unable to create partial-dir for ")
            {
                raced = true
                continue
            }
            return false
        }
        return raced
    }

    private func check(_ r: Subprocess.Result, doing: String) throws(ShipError) {
        if let sig = r.signal {
            throw ShipError(
                .rsyncFailed, "\(doing): rsync was killed by signal \(sig)",
                hint: "nothing partial is ever adopted; run the same command again to finish the transfer")
        }
        guard r.status == 0 else {
            let detail = r.stderrText.split(separator: "\n").prefix(6).joined(separator: "; ")
            throw ShipError(
                .rsyncFailed,
                "\(doing): rsync exited with status \(r.status ?? -1) (\(Self.meaning(r.status ?? -1)))\(detail.isEmpty ? "" : ": \(detail)")",
                hint: Self.hint(r.status ?? -1, stderr: r.stderrText))
        }
    }

    /// The `--out-format=%n\t%l` lines, each path once (a transfer run again after a race lists again what
    /// it had received but could not rename).
    static func parseTransfers(_ text: String) -> [Transferred] {
        var out: [Transferred] = []
        var seen: Set<String> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            guard parts.count == 2, !parts[0].hasSuffix("/"), let n = Int64(parts[1]) else { continue }
            guard seen.insert(String(parts[0])).inserted else { continue }
            out.append(Transferred(path: String(parts[0]), bytes: n))
        }
        return out
    }

    /// rsync(1) "EXIT VALUES".
    static func meaning(_ status: Int32) -> String {
        switch status {
        case 1: return "syntax or usage error"
        case 2: return "protocol incompatibility"
        case 3: return "errors selecting input/output files or directories"
        case 5: return "error starting client-server protocol"
        case 10: return "error in socket I/O"
        case 11: return "error in file I/O"
        case 12: return "error in the rsync protocol data stream"
        case 20: return "received SIGUSR1 or SIGINT"
        case 23: return "partial transfer due to error"
        case 24: return "partial transfer due to vanished source files"
        case 30: return "timeout in data send/receive"
        case 35: return "timeout waiting for daemon connection"
        case 255: return "the remote shell failed"
        default: return "see rsync(1) EXIT VALUES"
        }
    }

    static func hint(_ status: Int32, stderr: String) -> String {
        if status == 23, lostARace(stderr) {
            return
                "other transfers into the same incoming/ kept running at the same time; run the command again (a finished file is never sent twice)"
        }
        if stderr.contains("No such file or directory") {
            return "check that the peer path exists and contains .aibrain (run `aibrain init` there first)"
        }
        if status == 255 || status == 12 {
            return "check that `ssh HOST true` works without a password prompt and that rsync is installed on the peer"
        }
        if status == 30 { return "the link stalled; run again (a finished file is never sent twice)" }
        return "nothing partial is ever adopted; fix the cause and run the same command again"
    }
}
