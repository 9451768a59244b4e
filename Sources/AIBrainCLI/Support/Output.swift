import EventLog
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// write(2) under a name the buffer's own `write` does not shadow.
func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// The reader of our stdout went away (EPIPE): stop quietly, as `journalctl | head` expects.
/// `written` counts the bytes of the failed flush that did reach the pipe.
struct OutputClosed: Error {
    var written = 0
}

/// Buffered stdout with explicit flushes. Commands flush at the points that matter (after each tail
/// batch, before a cursor is saved), so "printed" means "handed to the pipe", and a closed pipe is an
/// error we see (SIGPIPE is ignored; `write` returns EPIPE) rather than a silent death mid-line.
final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private let fd: Int32

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    /// Off for `tail`, which flushes at its own batch boundaries (its cursor must match what was written).
    var autoFlush = true

    /// Bytes buffered and not yet flushed.
    var pending: Int {
        lock.lock()
        defer { lock.unlock() }
        return buffer.count
    }

    func write(_ bytes: [UInt8]) throws {
        lock.lock()
        buffer += bytes
        let full = autoFlush && buffer.count >= 1 << 16
        lock.unlock()
        if full { try flush() }
    }

    func line(_ s: String) throws {
        var bytes = Array(s.utf8)
        bytes.append(0x0A)
        try write(bytes)
    }

    func line(_ bytes: [UInt8]) throws {
        try write(bytes + [0x0A])
    }

    /// Writes everything buffered; throws `OutputClosed` if the reader is gone.
    func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        var at = 0
        while at < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                systemWrite(fd, raw.baseAddress! + at, raw.count - at)
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                buffer.removeAll(keepingCapacity: true)
                if e == EPIPE { throw OutputClosed(written: at) }
                // A full disk or an I/O error is not a closed pipe: the output is incomplete, say so.
                throw CLIError(
                    .error, code: "io", "writing the output failed (\(String(cString: strerror(e)))); it is incomplete",
                    hint: "free space or fix the destination, then run the command again")
            }
            at += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

enum Output {
    static let stdout = OutputBuffer(fd: 1)

    /// One line on stderr, unbuffered (errors, warnings, progress).
    static func stderr(_ s: String) {
        let bytes = Array((s + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var at = 0
            while at < raw.count {
                let n = systemWrite(2, raw.baseAddress! + at, raw.count - at)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                at += n
            }
        }
    }

    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// SIGPIPE would kill us between a write and the cursor save; EPIPE from `write` is handled instead.
    static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }
}

/// Progress on stderr for long work, only when stderr is a terminal (never in pipes, logs or tests).
struct Progress {
    let label: String
    let total: Int
    let enabled: Bool
    private var lastPrinted: UInt64 = 0

    init(_ label: String, total: Int) {
        self.label = label
        self.total = total
        enabled = Output.stderrIsTerminal && total > 0
    }

    mutating func update(_ done: Int) {
        guard enabled else { return }
        let now = OpenOptions.monotonicNanoseconds()
        guard now - lastPrinted > 100_000_000 || done == total else { return }
        lastPrinted = now
        let pct = total > 0 ? done * 100 / total : 100
        let width = 30
        let filled = width * pct / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let text = "\r\(label) [\(bar)] \(pct)% (\(done)/\(total))"
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
