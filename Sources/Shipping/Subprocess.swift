import EventLog

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a child process (rsync, or the ssh it starts) and collects its output.
///
/// Rule: the child is spawned directly (posix_spawnp, no shell), so arguments are never re-parsed and a
/// path with spaces or quotes is passed as one argument. Both pipes are drained together with poll, so a
/// child that writes a lot to stderr never blocks on a full pipe while we wait for stdout.
struct Subprocess {
    struct Result {
        /// The exit status, or nil when a signal ended the child.
        var status: Int32?
        var signal: Int32?
        var stdout: [UInt8]
        var stderr: [UInt8]
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Spawns `argv` (argv[0] looked up in PATH) with the current environment plus `environment`.
    static func run(_ argv: [String], environment: [String: String] = [:]) throws(ShipError) -> Result {
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw ShipError(.io, "cannot create a pipe for \(argv[0]): \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }

        var env = currentEnvironment()
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = envStrings.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw ShipError(
                .toolMissing, "cannot run `\(argv[0])`: \(String(cString: strerror(rc)))",
                hint: "install it (Debian: `apt-get install -y rsync`) or name its path with --rsync / $AIBRAIN_RSYNC")
        }
        var out: [UInt8] = []
        var err: [UInt8] = []
        var fds = [
            pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
            pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
        ]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while open > 0 {
            let r = poll(&fds, 2, -1)
            if r < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    if i == 0 { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        var wstatus: Int32 = 0
        while waitpid(pid, &wstatus, 0) < 0 && errno == EINTR {}
        let termSig = wstatus & 0x7f
        if termSig == 0 {
            return Result(status: (wstatus >> 8) & 0xff, signal: nil, stdout: out, stderr: err)
        }
        return Result(status: nil, signal: termSig, stdout: out, stderr: err)
    }

    static func currentEnvironment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                env[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return env
    }
}
