/// Which faults a `SimulatedFileSystem` injects into `pwrite` and `fsync`/`fdatasync`.
///
/// Modelled on TigerBeetle's `src/testing/storage.zig` (faults chosen by a seeded plan, never by global
/// randomness) and RocksDB's `FaultInjectionTestFS` (`SetFilesystemActive(false, IOStatus::NoSpace())`,
/// per-file write errors). The plan is plain data: a test builds it, hands it to
/// `SimulatedFileSystem.faultPlan`, and every injected fault is recorded in `SimulatedFileSystem.faultLog`.
///
/// Rules are tried in the order they were added; the first rule whose operation and paths match and that
/// is not used up decides the errno. Paths are matched in normalized form ("/a/b", no trailing slash), and
/// for a descriptor it is the path the descriptor was opened with.
///
/// ```swift
/// fs.faultPlan.failSync(.once, paths: .suffix(".seg"))      // fsyncgate on the next segment fsync
/// fs.faultPlan.failWrites(errno: 28, .forever)              // disk full from now on
/// fs.faultPlan.shortWriteProbability = 0.3                  // pwrite returns a short count 30% of the time
/// ```
public struct FaultPlan: Sendable {
    /// The operation a rule applies to.
    public enum Operation: String, Sendable, Hashable {
        /// `pwrite`: the call writes nothing and throws.
        case write = "pwrite"
        /// `fsync` and `fdatasync`, on files and directories: nothing becomes durable and the call throws. On a
        /// file the unsynced writes are poisoned (fsyncgate): see `SimulatedFileSystem`.
        case sync = "fsync"
        /// `pread`: the call reads nothing and throws (a bad sector, a vanished network volume).
        case read = "pread"
    }

    /// How many matching calls a rule fails.
    public enum Repetition: Sendable, Hashable {
        case once
        case times(Int)
        case forever
    }

    /// A named predicate on normalized paths; the name goes into `faultLog`.
    public struct PathMatcher: Sendable, CustomStringConvertible {
        public let description: String
        private let predicate: @Sendable (String) -> Bool

        public init(_ description: String, _ predicate: @escaping @Sendable (String) -> Bool) {
            self.description = description
            self.predicate = predicate
        }

        public func matches(_ path: String) -> Bool { predicate(path) }

        /// Every path.
        public static let any = PathMatcher("any path") { _ in true }

        /// Paths ending in `suffix` (for example ".seg" or "/CATALOG").
        public static func suffix(_ suffix: String) -> PathMatcher {
            PathMatcher("paths ending in \"\(suffix)\"") { $0.hasSuffix(suffix) }
        }

        /// Exactly `path` (normalized the way the file system normalizes it: give an absolute path).
        public static func path(_ path: String) -> PathMatcher {
            PathMatcher("path \"\(path)\"") { $0 == path }
        }
    }

    /// One fault: fail `repetition` matching calls of `operation` with `errno`, after letting the first
    /// `skipping` matching calls through.
    public struct Rule: Sendable {
        public var operation: Operation
        public var errno: Int32
        public var repetition: Repetition
        public var skipping: Int
        public var paths: PathMatcher
        /// Matching calls seen so far (skipped ones included).
        public internal(set) var matched = 0
        /// Calls this rule failed so far.
        public internal(set) var fired = 0

        public init(
            operation: Operation, errno: Int32, repetition: Repetition = .once, skipping: Int = 0,
            paths: PathMatcher = .any
        ) {
            precondition(skipping >= 0, "skipping must not be negative")
            self.operation = operation
            self.errno = errno
            self.repetition = repetition
            self.skipping = skipping
            self.paths = paths
        }

        var isUsedUp: Bool {
            switch repetition {
            case .once: return fired >= 1
            case .times(let count): return fired >= count
            case .forever: return false
            }
        }
    }

    public var rules: [Rule] = []

    /// Probability (0...1) that a `pwrite` of two or more bytes writes only a random nonzero prefix and
    /// returns its length, as POSIX allows (`write(2)`: "the number of bytes written may be less than
    /// count"). Code must loop (`FileSystem.writeAll`).
    public var shortWriteProbability: Double = 0

    public init() {}

    /// The plan that injects nothing.
    public static let none = FaultPlan()

    /// Fails `fsync`/`fdatasync` with `errno` (EIO by default).
    public mutating func failSync(
        errno: Int32 = 5, _ repetition: Repetition = .once, skipping: Int = 0, paths: PathMatcher = .any
    ) {
        rules.append(Rule(operation: .sync, errno: errno, repetition: repetition, skipping: skipping, paths: paths))
    }

    /// Fails `pwrite` with `errno` (ENOSPC by default; EIO = 5 and EDQUOT = 122 are the other usual ones).
    /// The failing call writes nothing.
    public mutating func failWrites(
        errno: Int32 = 28, _ repetition: Repetition = .once, skipping: Int = 0, paths: PathMatcher = .any
    ) {
        rules.append(Rule(operation: .write, errno: errno, repetition: repetition, skipping: skipping, paths: paths))
    }

    /// Fails `pread` with `errno` (EIO by default).
    public mutating func failReads(
        errno: Int32 = 5, _ repetition: Repetition = .once, skipping: Int = 0, paths: PathMatcher = .any
    ) {
        rules.append(Rule(operation: .read, errno: errno, repetition: repetition, skipping: skipping, paths: paths))
    }

    /// Removes every rule and disables short writes.
    public mutating func removeAll() {
        self = FaultPlan()
    }

    /// Decides whether this call of `operation` on `path` fails; returns the errno and a description of the
    /// rule, and counts the call against the rules.
    mutating func fault(for operation: Operation, path: String) -> (errno: Int32, rule: String)? {
        for index in rules.indices {
            guard rules[index].operation == operation, !rules[index].isUsedUp, rules[index].paths.matches(path)
            else { continue }
            rules[index].matched += 1
            if rules[index].matched <= rules[index].skipping { continue }
            rules[index].fired += 1
            let rule = rules[index]
            return (rule.errno, "rule \(index) (\(rule.repetition), skipping \(rule.skipping), \(rule.paths))")
        }
        return nil
    }
}
