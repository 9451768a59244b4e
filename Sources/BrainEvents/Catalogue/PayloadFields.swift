import EventLog
import Foundation

/// The payload members the projections read, by name. Anything else in a payload is kept in the log and
/// skipped by the scanner.
public enum FieldKey: Int, CaseIterable, Sendable {
    case workItemID, leaseID, worker, ttlMS, attempt, project, orchestratorID, team, uniqueKey, homeOrigin
    case sessionRef, maxAttempts, priority, error, retryable, backoffMS, reason, from, to, retryCount
    case sessionID, iteration, verdict, checkpointID, parentCheckpoint, branch, summary, state, filesTouched
    case nextSteps, fromCheckpoint, kind, value, confidence, severity, approver, decisionID, by, koID, title
    case tags, rank, success, cost, usage, provider, model, inputTokens, cachedTokens, outputTokens, usd, repo
    case goal, description, metadata, alternatives, rationale, tokensIn, tokensOut, taskID, priceTable, projects
    case body, vector, legacyConsultations, legacySuccesses, textHash, legacy, errorLog

    public var name: String {
        switch self {
        case .workItemID: "work_item_id"
        case .leaseID: "lease_id"
        case .worker: "worker"
        case .ttlMS: "ttl_ms"
        case .attempt: "attempt"
        case .project: "project"
        case .orchestratorID: "orchestrator_id"
        case .team: "team"
        case .uniqueKey: "unique_key"
        case .homeOrigin: "home_origin"
        case .sessionRef: "session_ref"
        case .maxAttempts: "max_attempts"
        case .priority: "priority"
        case .error: "error"
        case .retryable: "retryable"
        case .backoffMS: "backoff_ms"
        case .reason: "reason"
        case .from: "from"
        case .to: "to"
        case .retryCount: "retry_count"
        case .sessionID: "session_id"
        case .iteration: "iteration"
        case .verdict: "verdict"
        case .checkpointID: "checkpoint_id"
        case .parentCheckpoint: "parent_checkpoint"
        case .branch: "branch"
        case .summary: "summary"
        case .state: "state"
        case .filesTouched: "files_touched"
        case .nextSteps: "next_steps"
        case .fromCheckpoint: "from_checkpoint"
        case .kind: "kind"
        case .value: "value"
        case .confidence: "confidence"
        case .severity: "severity"
        case .approver: "approver"
        case .decisionID: "decision_id"
        case .by: "by"
        case .koID: "ko_id"
        case .title: "title"
        case .tags: "tags"
        case .rank: "rank"
        case .success: "success"
        case .cost: "cost"
        case .usage: "usage"
        case .provider: "provider"
        case .model: "model"
        case .inputTokens: "input_tokens"
        case .cachedTokens: "cached_tokens"
        case .outputTokens: "output_tokens"
        case .usd: "usd"
        case .repo: "repo"
        case .goal: "goal"
        case .description: "description"
        case .metadata: "metadata"
        case .alternatives: "alternatives"
        case .rationale: "rationale"
        case .tokensIn: "tokens_in"
        case .tokensOut: "tokens_out"
        case .taskID: "task_id"
        case .priceTable: "price_table"
        case .projects: "projects"
        case .body: "body"
        case .vector: "vector"
        case .legacyConsultations: "legacy_consultations"
        case .legacySuccesses: "legacy_successes"
        case .textHash: "text_hash"
        case .legacy: "legacy"
        case .errorLog: "error_log"
        }
    }
}

/// One pass over a payload's top-level members, remembering where the known ones are.
///
/// Why not `JSONDecoder`: it runs at ~220k events/s here (`../shared/bench/LIMITS.md`), and replay must fold
/// millions per second. The scanner never allocates: strings are skipped with `memchr`, nested values by
/// depth, and only the members a projection asks for are turned into Swift values. It checks structure as
/// far as it goes (bounds, quotes, nesting) and reports a payload it cannot walk instead of guessing.
///
/// Concurrency rule: one scanner per thread (it owns a reused table). Pointers passed to `scan` must stay
/// valid until the next `scan`.
public final class PayloadFields {
    private static let keyCount = FieldKey.allCases.count
    // Plain memory, not arrays: the scan runs once per event and must not retain or release anything.
    private let starts: UnsafeMutablePointer<Int32>
    private let ends: UnsafeMutablePointer<Int32>
    private let present: UnsafeMutablePointer<Int32>
    private var presentCount = 0
    private var base: UnsafeRawPointer?
    private var count = 0
    /// Reused for `nested`: valid until the next `nested` call on this scanner.
    private var child: PayloadFields?
    /// The key table, read once here rather than through its lazy static on every member.
    private let tableSlots = KeyTable.table.0
    private let tableNames = KeyTable.table.1

    public init() {
        starts = .allocate(capacity: Self.keyCount)
        starts.initialize(repeating: -1, count: Self.keyCount)
        ends = .allocate(capacity: Self.keyCount)
        ends.initialize(repeating: -1, count: Self.keyCount)
        present = .allocate(capacity: Self.keyCount)
        present.initialize(repeating: 0, count: Self.keyCount)
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
        present.deallocate()
    }

    @inline(__always)
    private func reset() {
        for i in 0..<presentCount { starts[Int(present[i])] = -1 }
        presentCount = 0
    }

    /// Scans one payload. Returns false (and remembers nothing) if it is not a JSON object it can walk.
    @discardableResult
    public func scan(_ payload: UnsafeRawBufferPointer) -> Bool {
        reset()
        let (slots, names) = (tableSlots, tableNames)
        base = payload.baseAddress
        count = payload.count
        guard let p = payload.baseAddress?.assumingMemoryBound(to: UInt8.self), count >= 2 else { return false }
        let n = count
        var i = Self.space(p, 0, n)
        guard i < n, p[i] == UInt8(ascii: "{") else { return false }
        i = Self.space(p, i + 1, n)
        if i < n, p[i] == UInt8(ascii: "}") { return true }
        while i < n {
            guard p[i] == UInt8(ascii: "\"") else { return fail() }
            let keyStart = i + 1
            guard let keyEnd = Self.stringEnd(p, keyStart, n) else { return fail() }
            i = Self.space(p, keyEnd + 1, n)
            guard i < n, p[i] == UInt8(ascii: ":") else { return fail() }
            i = Self.space(p, i + 1, n)
            let valueStart = i
            guard let valueEnd = Self.valueEnd(p, i, n) else { return fail() }
            if let k = KeyTable.lookup(p + keyStart, keyEnd - keyStart, readable: n - keyStart, slots, names),
                starts[k.rawValue] < 0
            {
                starts[k.rawValue] = Int32(valueStart)
                ends[k.rawValue] = Int32(valueEnd)
                present[presentCount] = Int32(k.rawValue)
                presentCount += 1
            }
            i = Self.space(p, valueEnd, n)
            guard i < n else { return fail() }
            if p[i] == UInt8(ascii: ",") {
                i = Self.space(p, i + 1, n)
                continue
            }
            return p[i] == UInt8(ascii: "}") ? true : fail()
        }
        return fail()
    }

    private func fail() -> Bool {
        reset()
        return false
    }

    // MARK: values

    /// The raw JSON text of a member, if present.
    @inline(__always)
    public func raw(_ k: FieldKey) -> UnsafeRawBufferPointer? {
        let s = Int(starts[k.rawValue])
        guard s >= 0, let b = base else { return nil }
        return UnsafeRawBufferPointer(start: b + s, count: Int(ends[k.rawValue]) - s)
    }

    public func has(_ k: FieldKey) -> Bool { starts[k.rawValue] >= 0 }

    /// A string member (unescaped); nil when absent, null or not a string.
    public func string(_ k: FieldKey) -> String? {
        guard let r = raw(k), r.count >= 2, r[0] == UInt8(ascii: "\"") else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: r[1..<r.count - 1])
        if inner.isEmpty || memchr(inner.baseAddress!, Int32(UInt8(ascii: "\\")), inner.count) == nil {
            return String(decoding: inner, as: UTF8.self)
        }
        return JSONScanner.unescape(ArraySlice(r))
    }

    /// An integer member; nil when absent or not an integer (a fraction or exponent is not an integer).
    public func int(_ k: FieldKey) -> Int64? {
        guard let r = raw(k) else { return nil }
        return Self.parseInt(r)
    }

    public func bool(_ k: FieldKey) -> Bool? {
        guard let r = raw(k) else { return nil }
        if r.count == 4, r[0] == UInt8(ascii: "t") { return true }
        if r.count == 5, r[0] == UInt8(ascii: "f") { return false }
        return nil
    }

    /// A number (or a decimal string) scaled to an integer of `10^-scale` units, exactly, from its text;
    /// nil when absent or not a plain decimal. Digits beyond `scale` are rounded half-up.
    public func decimal(_ k: FieldKey, scale: Int) -> Int64? {
        guard let r = raw(k) else { return nil }
        return Self.parseDecimal(r, scale: scale)
    }

    /// The members of a nested object member. The returned scanner is reused by the next `nested` call.
    public func nested(_ k: FieldKey) -> PayloadFields? {
        guard let r = raw(k), r.first == UInt8(ascii: "{") else { return nil }
        let f = child ?? PayloadFields()
        child = f
        return f.scan(r) ? f : nil
    }

    /// The elements of an array of strings; nil when absent or not an array of strings.
    public func strings(_ k: FieldKey) -> [String]? {
        guard let r = raw(k), r.count >= 2, r.first == UInt8(ascii: "[") else { return nil }
        let p = r.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var out: [String] = []
        var i = Self.space(p, 1, r.count)
        if i < r.count, p[i] == UInt8(ascii: "]") { return out }
        while i < r.count {
            guard p[i] == UInt8(ascii: "\""), let e = Self.valueEnd(p, i, r.count) else { return nil }
            let quoted = UnsafeRawBufferPointer(start: p + i, count: e - i)
            let inner = UnsafeRawBufferPointer(rebasing: quoted[1..<quoted.count - 1])
            if inner.isEmpty || memchr(inner.baseAddress!, Int32(UInt8(ascii: "\\")), inner.count) == nil {
                out.append(String(decoding: inner, as: UTF8.self))
            } else {
                guard let s = JSONScanner.unescape(ArraySlice(quoted)) else { return nil }
                out.append(s)
            }
            i = Self.space(p, e, r.count)
            guard i < r.count else { return nil }
            if p[i] == UInt8(ascii: "]") { return out }
            guard p[i] == UInt8(ascii: ",") else { return nil }
            i = Self.space(p, i + 1, r.count)
        }
        return nil
    }

    /// The elements of an array of numbers as `Float`s (embeddings); nil when absent, not an array of finite
    /// numbers, or longer than 4,096 elements.
    public func floats(_ k: FieldKey) -> [Float]? {
        guard let r = raw(k), r.count >= 2, r.first == UInt8(ascii: "["), r.last == UInt8(ascii: "]") else {
            return nil
        }
        var out: [Float] = []
        for part in r[1..<r.count - 1].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let text = String(decoding: part, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty && out.isEmpty && r.count - 2 == part.count { return [] }
            guard let f = Float(text), f.isFinite, out.count < 4096 else { return nil }
            out.append(f)
        }
        return out
    }

    /// The number of elements of an array member (0 when absent).
    public func arrayCount(_ k: FieldKey) -> Int {
        guard let r = raw(k), r.count >= 2, r.first == UInt8(ascii: "[") else { return 0 }
        let p = r.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var i = Self.space(p, 1, r.count)
        if i < r.count, p[i] == UInt8(ascii: "]") { return 0 }
        var n = 0
        while i < r.count {
            guard let e = Self.valueEnd(p, i, r.count) else { return n }
            n += 1
            i = Self.space(p, e, r.count)
            guard i < r.count, p[i] == UInt8(ascii: ",") else { return n }
            i = Self.space(p, i + 1, r.count)
        }
        return n
    }

    /// The raw value of any top-level member by name (a second walk; for names that are not a `FieldKey`).
    public func rawMember(named name: String) -> UnsafeRawBufferPointer? {
        guard let b = base else { return nil }
        let p = b.assumingMemoryBound(to: UInt8.self)
        let n = count
        let want = Array(name.utf8)
        var i = Self.space(p, 0, n)
        guard i < n, p[i] == UInt8(ascii: "{") else { return nil }
        i = Self.space(p, i + 1, n)
        while i < n, p[i] == UInt8(ascii: "\"") {
            guard let keyEnd = Self.stringEnd(p, i + 1, n) else { return nil }
            let keyStart = i + 1
            i = Self.space(p, keyEnd + 1, n)
            guard i < n, p[i] == UInt8(ascii: ":") else { return nil }
            i = Self.space(p, i + 1, n)
            guard let valueEnd = Self.valueEnd(p, i, n) else { return nil }
            if keyEnd - keyStart == want.count,
                want.withUnsafeBytes({ memcmp($0.baseAddress!, p + keyStart, want.count) == 0 })
            {
                return UnsafeRawBufferPointer(start: p + i, count: valueEnd - i)
            }
            i = Self.space(p, valueEnd, n)
            guard i < n, p[i] == UInt8(ascii: ",") else { return nil }
            i = Self.space(p, i + 1, n)
        }
        return nil
    }

    // MARK: scanning primitives

    @inline(__always)
    static func space(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var i = i
        while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        return i
    }

    /// Index of the closing quote of a string whose contents start at `i`.
    @inline(__always)
    static func stringEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        var i = i
        while i < n {
            guard let q = memchr(p + i, 0x22, n - i) else { return nil }
            let at = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - p
            var bs = 0
            var j = at - 1
            while j >= i, p[j] == UInt8(ascii: "\\") {
                bs += 1
                j -= 1
            }
            if bs & 1 == 0 { return at }
            i = at + 1
        }
        return nil
    }

    /// The index just past the value that starts at `i`.
    static func valueEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        guard i < n else { return nil }
        switch p[i] {
        case UInt8(ascii: "\""):
            guard let e = stringEnd(p, i + 1, n) else { return nil }
            return e + 1
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var j = i
            while j < n {
                let c = p[j]
                if c == UInt8(ascii: "\"") {
                    guard let e = stringEnd(p, j + 1, n) else { return nil }
                    j = e + 1
                    continue
                }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    depth += 1
                } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return j + 1 }
                }
                j += 1
            }
            return nil
        default:
            var j = i
            while j < n {
                let c = p[j]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") || c == 0x20
                    || c == 0x0A || c == 0x0D || c == 0x09
                {
                    break
                }
                j += 1
            }
            return j > i ? j : nil
        }
    }

    static func parseInt(_ r: UnsafeRawBufferPointer) -> Int64? {
        guard !r.isEmpty else { return nil }
        var i = 0
        var negative = false
        if r[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        guard i < r.count, r.count - i <= 18 else { return nil }
        var v: Int64 = 0
        while i < r.count {
            let d = r[i] &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
            i += 1
        }
        return negative ? -v : v
    }

    static func parseDecimal(_ raw: UnsafeRawBufferPointer, scale: Int) -> Int64? {
        var r = raw
        if r.count >= 2, r[0] == UInt8(ascii: "\""), r[r.count - 1] == UInt8(ascii: "\"") {
            r = UnsafeRawBufferPointer(rebasing: r[1..<r.count - 1])
        }
        guard !r.isEmpty else { return nil }
        var i = 0
        var negative = false
        if r[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        var whole: Int64 = 0
        var digits = 0
        while i < r.count, r[i] &- 0x30 < 10 {
            // At most 9 whole digits: with 9 decimal places the result stays far inside Int64 (a single
            // event's price above a billion dollars is not a price; the caller treats nil as "unknown").
            guard digits < 9 else { return nil }
            whole = whole * 10 + Int64(r[i] - 0x30)
            digits += 1
            i += 1
        }
        guard digits > 0, scale <= 9 else { return nil }
        var frac: Int64 = 0
        var fracDigits = 0
        var roundUp = false
        if i < r.count, r[i] == UInt8(ascii: ".") {
            i += 1
            var any = false
            while i < r.count, r[i] &- 0x30 < 10 {
                if fracDigits < scale {
                    frac = frac * 10 + Int64(r[i] - 0x30)
                    fracDigits += 1
                } else if fracDigits == scale {
                    roundUp = r[i] >= UInt8(ascii: "5")
                    fracDigits += 1
                }
                any = true
                i += 1
            }
            guard any else { return nil }
        }
        guard i == r.count else { return nil }  // exponents are not plain decimals
        var f = frac
        for _ in min(fracDigits, scale)..<scale { f *= 10 }
        var pow: Int64 = 1
        for _ in 0..<scale { pow *= 10 }
        var v = whole * pow + f + (roundUp ? 1 : 0)
        if negative { v = -v }
        return v
    }
}

/// Member names to `FieldKey`, by FNV-1a of the raw key bytes (keys with escapes never match). Built
/// once, in plain memory that lives for the process (the hot path reads it without reference counting).
enum KeyTable {
    static let size = 256
    struct Slot {
        var hash: UInt64
        var w0: UInt64
        var w1: UInt64
        var key: Int16  // -1: empty
        var field: FieldKey
        var offset: Int16
        var length: Int16
    }
    /// (slots, names): written once by the lazy static initializer, read-only after.
    nonisolated(unsafe) static let table: (UnsafeMutablePointer<Slot>, UnsafeMutablePointer<UInt8>) = build()

    private static func build() -> (UnsafeMutablePointer<Slot>, UnsafeMutablePointer<UInt8>) {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: size)
        slots.initialize(
            repeating: Slot(hash: 0, w0: 0, w1: 0, key: -1, field: .workItemID, offset: 0, length: 0), count: size)
        let all = FieldKey.allCases.map { Array($0.name.utf8) }
        let names = UnsafeMutablePointer<UInt8>.allocate(capacity: all.reduce(0) { $0 + $1.count })
        var at = 0
        for (k, name) in zip(FieldKey.allCases, all) {
            let (w0, w1, h) = name.withUnsafeBufferPointer { words($0.baseAddress!, $0.count, readable: 0) }
            var i = Int(truncatingIfNeeded: h) & (size - 1)
            while slots[i].key >= 0 { i = (i + 1) & (size - 1) }
            slots[i] = Slot(
                hash: h, w0: w0, w1: w1, key: Int16(k.rawValue), field: k, offset: Int16(at), length: Int16(name.count))
            for b in name {
                names[at] = b
                at += 1
            }
        }
        return (slots, names)
    }

    /// The first 16 bytes of a name as two little-endian words (zero-padded) and a hash of them and the
    /// length. Names of up to 16 bytes are equal exactly when (length, words) are, so no memcmp is needed;
    /// longer ones compare their tail. `readable` bytes from `p` may be read: with 16 of them, two unaligned
    /// loads (masked to the name's length) replace the byte loop.
    @inline(__always)
    static func words(_ p: UnsafePointer<UInt8>, _ n: Int, readable: Int) -> (UInt64, UInt64, UInt64) {
        var w0: UInt64 = 0
        var w1: UInt64 = 0
        if readable >= 16 {
            let raw = UnsafeRawPointer(p)
            w0 = raw.loadUnaligned(as: UInt64.self)
            w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            if n < 8 { w0 &= (1 << UInt64(8 * n)) &- 1 }
            if n < 16 { w1 = n <= 8 ? 0 : w1 & ((1 << UInt64(8 * (n - 8))) &- 1) }
        } else {
            for i in 0..<min(n, 8) { w0 |= UInt64(p[i]) << UInt64(8 * i) }
            if n > 8 { for i in 8..<min(n, 16) { w1 |= UInt64(p[i]) << UInt64(8 * (i - 8)) } }
        }
        let h = (w0 &* 0x9E37_79B9_7F4A_7C15) ^ (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (UInt64(n) &* 0x1656_67B1_9E37_79F9)
        return (w0, w1, h ^ (h >> 29))
    }

    @inline(__always)
    static func lookup(
        _ key: UnsafePointer<UInt8>, _ n: Int, readable: Int, _ slots: UnsafeMutablePointer<Slot>,
        _ names: UnsafeMutablePointer<UInt8>
    ) -> FieldKey? {
        guard n <= 24, n > 0 else { return nil }
        let (w0, w1, h) = words(key, n, readable: readable)
        var i = Int(truncatingIfNeeded: h) & (size - 1)
        while slots[i].key >= 0 {
            let s = slots[i]
            if s.hash == h, Int(s.length) == n, s.w0 == w0, s.w1 == w1,
                n <= 16 || memcmp(names + Int(s.offset) + 16, key + 16, n - 16) == 0
            {
                return s.field
            }
            i = (i + 1) & (size - 1)
        }
        return nil
    }
}
