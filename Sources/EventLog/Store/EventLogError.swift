/// The one error of the storage engine. Two levels (style point 4): `SystemError` (errno) inside, this
/// outside, with a code, the file and position it concerns, the cause, and what the user can do.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Bytes on disk fail a checksum or do not decode where data must be valid. Never an I/O error.
        public static let corruption = Code(rawValue: "corruption")
        /// A system call failed (EIO, EACCES, ...).
        public static let io = Code(rawValue: "io")
        /// The disk is full (ENOSPC, EDQUOT).
        public static let noSpace = Code(rawValue: "no-space")
        /// Input that the engine refuses (bad id, type, size over a limit).
        public static let invalidInput = Code(rawValue: "invalid-input")
        /// Another process holds the writer lock past the timeout.
        public static let lockTimeout = Code(rawValue: "lock-timeout")
        /// The append precondition refused the batch.
        public static let preconditionFailed = Code(rawValue: "precondition-failed")
        /// The store was copied, cloned or restored: appends refused until `recover --new-epoch`.
        public static let copiedStore = Code(rawValue: "copied-store")
        /// No store, or not a store of this format.
        public static let notAStore = Code(rawValue: "not-a-store")
        /// A feature flag or version this build does not know.
        public static let unsupported = Code(rawValue: "unsupported")
        /// A position that does not exist (LSN beyond the head, unknown segment).
        public static let notFound = Code(rawValue: "not-found")
        /// The writer saw a failed sync or write earlier; the segment is abandoned and nothing was acknowledged.
        public static let writeFailed = Code(rawValue: "write-failed")
        public static let readOnly = Code(rawValue: "read-only")
        /// A key the operation needs (signing, a team's data) is not in `.aibrain/keys/`.
        public static let keyMissing = Code(rawValue: "key-missing")
    }

    public var code: Code
    public var message: String
    public var path: String?
    /// Byte offset in `path`, when the error is about a position in a file.
    public var offset: Int64?
    public var lsn: UInt64?
    public var hint: String?
    public var underlying: SystemError?

    public init(
        _ code: Code, _ message: String, path: String? = nil, offset: Int64? = nil, lsn: UInt64? = nil,
        hint: String? = nil, underlying: SystemError? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.lsn = lsn
        self.hint = hint
        self.underlying = underlying
    }

    /// Where and what, without the hint: `path at offset N (LSN L): message [errno]`.
    public var summary: String {
        var s = ""
        if let path { s += path }
        if let offset { s += s.isEmpty ? "offset \(offset)" : " at offset \(offset)" }
        if let lsn { s += s.isEmpty ? "LSN \(lsn)" : " (LSN \(lsn))" }
        s += s.isEmpty ? message : ": \(message)"
        if let underlying { s += " [\(underlying)]" }
        return s
    }

    public var description: String { summary + (hint.map { ". \($0)" } ?? "") }

    /// Maps a failed system call to the domain error, naming what the caller was doing.
    public static func system(_ error: SystemError, _ doing: String, path: String? = nil) -> EventLogError {
        switch error.errno {
        case 28, 122:
            return EventLogError(
                .noSpace, "\(doing): no space left on the device", path: path ?? error.path,
                hint: "free disk space and retry; nothing acknowledged before was lost", underlying: error)
        default:
            return EventLogError(.io, "\(doing) failed", path: path ?? error.path, underlying: error)
        }
    }

    public static func corrupt(_ message: String, path: String, offset: Int64? = nil, lsn: UInt64? = nil)
        -> EventLogError
    {
        EventLogError(
            .corruption, message, path: path, offset: offset, lsn: lsn,
            hint: "run `aibrain verify` for a full report; data before this point is still readable")
    }
}

extension FileSystem {
    /// Runs a seam call, mapping its error to `EventLogError` with what we were doing.
    @inline(__always)
    public func attempt<T>(_ doing: @autoclosure () -> String, path: String? = nil, _ body: () throws(SystemError) -> T)
        throws(EventLogError) -> T
    {
        do { return try body() } catch { throw EventLogError.system(error, doing(), path: path) }
    }
}
