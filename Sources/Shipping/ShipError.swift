import EventLog

/// Why a shipping command failed: a stable code, a message naming the file or peer, and what to do.
public struct ShipError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// rsync (or ssh under it) failed or was killed; nothing partial was adopted.
        case rsyncFailed = "rsync-failed"
        case toolMissing = "tool-missing"
        case notAStore = "not-a-store"
        case invalidPeer = "invalid-peer"
        case lockTimeout = "lock-timeout"
        case io
        /// A file this store holds (CATALOG, manifest) does not decode.
        case corruption
        case storage
    }

    public var code: Code
    public var message: String
    public var hint: String?
    public var path: String?
    /// The engine's error, when one caused this.
    public var underlying: EventLogError?

    public init(_ code: Code, _ message: String, hint: String? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.path = path
    }

    public init(_ e: EventLogError) {
        self.init(e.code == .corruption ? .corruption : .storage, e.summary, hint: e.hint)
        underlying = e
    }

    public var description: String { message + (hint.map { ". \($0)" } ?? "") }
}

/// Runs an engine call, turning its error into a `ShipError`.
func engine<T>(_ body: () throws(EventLogError) -> T) throws(ShipError) -> T {
    do { return try body() } catch { throw ShipError(error) }
}

func system<T>(_ doing: String, path: String, _ body: () throws(SystemError) -> T) throws(ShipError) -> T {
    do { return try body() } catch {
        let hint: String? =
            error.errno == 13 || error.errno == 1
            ? "run adoption as the user rsync writes incoming/ as (or give that user's group write access to incoming/ and log/)"
            : error.errno == 28 ? "free disk space; nothing half-adopted is left behind" : nil
        throw ShipError(.io, "\(doing) failed: \(error)", hint: hint, path: path)
    }
}
