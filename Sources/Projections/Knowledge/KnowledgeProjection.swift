import BrainEvents
import EventLog

public enum KOStatus: UInt8, Sendable {
    /// Consulted or scored before any lifecycle event was seen (legacy logs).
    case unknown, proposed, approved, superseded, retired

    public var name: String {
        switch self {
        case .unknown: "unknown"
        case .proposed: "proposed"
        case .approved: "approved"
        case .superseded: "superseded"
        case .retired: "retired"
        }
    }
}

/// A knowledge object's lifecycle and its effectiveness, computed from outcomes (never hand-given scores).
/// A class: the fold updates counters in place (a struct in an array of optionals was copied per update).
public final class KnowledgeObject: SnapshotCodable {
    public var id: String
    public var title = ""
    public var status = KOStatus.unknown
    public var supersededBy = ""
    public var tags: [String] = []
    public var projects: [String] = []
    public var consultations = 0
    /// Consultations followed by a successful outcome of the same task.
    public var successes = 0
    /// Consultations followed by a failed outcome of the same task.
    public var failures = 0
    public var lastConsultedHLC: UInt64 = 0
    public var proposed: EventRef?
    /// The lesson (markdown), from the latest `ko.proposed` that has one. Not in the snapshot (bodies made it
    /// most of its bytes, read by every query): after a snapshot load `bodyKnown` is false and the body is read
    /// from the event at `bodyRef` (`KnowledgeProjection.body(of:read:)`).
    public var body = ""
    public var bodyKnown = true
    public var bodyRef: EventRef?
    /// When it was written: the first proposal's `occurred_at` (legacy timestamps), else its writer clock.
    public var createdMS: Int64 = 0
    /// Counts carried over from a legacy file by `import legacy` (`consultation_count`, and
    /// round(effectiveness × consultation_count)); -1 successes: the legacy file gave no effectiveness.
    public var legacyConsultations = 0
    public var legacySuccesses = -1
    /// The latest embedding (`ko.embedded`) and the model that made it. Like the body, the vector is not in
    /// the snapshot (10,000 KOs × 384 floats would be most of its bytes, read by every command): after a
    /// snapshot load `vectorKnown` is false and `KOVectorIndex` reads it from the event at `vectorRef`.
    public var vector: [Float] = []
    public var vectorKnown = true
    public var vectorRef: EventRef?
    public var vectorDimensions = 0
    public var vectorModel = ""
    /// The `text_hash` of that embedding (0: none given).
    public var embeddedHash: UInt64 = 0
    /// XXH3-64 of `embeddingText` as of the latest revision, so `ko embed` finds unchanged KOs without reading
    /// their bodies; 0 when the latest revision carried no body (then `ko embed` reads it).
    public var textHash: UInt64 = 0

    /// The text a KO is embedded from, and whose XXH3-64 is its `text_hash`.
    public static func embeddingText(title: String, tags: [String], body: String) -> String {
        title + "\n" + tags.joined(separator: ", ") + "\n" + body
    }

    public init(id: String) { self.id = id }

    /// Every consultation, legacy ones included.
    public var totalConsultations: Int { consultations + legacyConsultations }
    /// Consultations whose outcome is known, and the successes among them.
    public var ratedConsultations: Int { consultations + (legacySuccesses >= 0 ? legacyConsultations : 0) }
    public var totalSuccesses: Int { successes + max(legacySuccesses, 0) }

    /// Laplace-smoothed success rate `(s + 1) / (c + 2)` over the consultations with a known outcome: a KO
    /// nobody has used ranks at 0.5, not 0 or 1.
    public var effectiveness: Double { Double(totalSuccesses + 1) / Double(ratedConsultations + 2) }

    /// The plain success rate the legacy files hold (successes ÷ consultations), nil without any rated one.
    public var successRate: Double? {
        ratedConsultations == 0 ? nil : Double(totalSuccesses) / Double(ratedConsultations)
    }

    public func encode(_ w: inout SnapshotWriter) {
        w.string(id)
        w.string(title)
        w.u8(status.rawValue)
        w.string(supersededBy)
        w.strings(tags)
        w.strings(projects)
        w.int(consultations)
        w.int(successes)
        w.int(failures)
        w.varint(lastConsultedHLC)
        if let p = proposed {
            w.u8(1)
            p.encode(&w)
        } else {
            w.u8(0)
        }
        if let b = bodyRef {
            w.u8(1)
            b.encode(&w)
        } else {
            w.u8(0)
        }
        w.sint(createdMS)
        w.int(legacyConsultations)
        w.int(legacySuccesses)
        w.string(vectorModel)
        w.u64(embeddedHash)
        if let v = vectorRef {
            w.u8(1)
            v.encode(&w)
        } else {
            w.u8(0)
        }
        w.varint(UInt64(vectorDimensions))
        w.u64(textHash)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        id = try r.string()
        title = try r.string()
        guard let s = KOStatus(rawValue: try r.u8()) else { throw r.failure("unknown KO status") }
        status = s
        supersededBy = try r.string()
        tags = try r.strings()
        projects = try r.strings()
        consultations = try r.int()
        successes = try r.int()
        failures = try r.int()
        lastConsultedHLC = try r.varint()
        proposed = try r.bool() ? try EventRef(decoding: &r) : nil
        bodyRef = try r.bool() ? try EventRef(decoding: &r) : nil
        bodyKnown = bodyRef == nil
        createdMS = try r.sint()
        legacyConsultations = try r.int()
        legacySuccesses = try r.int()
        vectorModel = try r.string()
        embeddedHash = try r.u64()
        vectorRef = try r.bool() ? try EventRef(decoding: &r) : nil
        vectorKnown = vectorRef == nil
        let n = try r.varint()
        guard n <= 1 << 20 else { throw r.failure("embedding of \(n) dimensions") }
        vectorDimensions = Int(n)
        textHash = try r.u64()
    }

    /// Checks one encoded KO and moves past it without building it: the same reads as `init(decoding:)`, field
    /// by field, minus the allocations. A snapshot load walks every KO with this and decodes one only when it
    /// is used (a search touches a few of 10,000), so what `skip` accepts, `init(decoding:)` must accept
    /// (`KOSearchTests.snapshotKOsAreCheckedAtLoadAndDecodedOnFirstUse` checks both consume the same bytes).
    static func skip(_ r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        func string() throws(SnapshotReader.Failure) { try r.skip(try r.count()) }
        func strings() throws(SnapshotReader.Failure) { for _ in 0..<(try r.count()) { try string() } }
        try string()  // id
        try string()  // title
        guard KOStatus(rawValue: try r.u8()) != nil else { throw r.failure("unknown KO status") }
        try string()  // supersededBy
        try strings()  // tags
        try strings()  // projects
        for _ in 0..<3 { _ = try r.varint() }  // consultations, successes, failures
        _ = try r.varint()  // lastConsultedHLC
        func ref() throws(SnapshotReader.Failure) {  // a flag, then origin and LSN
            if try r.bool() {
                _ = try r.varint()
                _ = try r.varint()
            }
        }
        try ref()  // proposed
        try ref()  // bodyRef
        for _ in 0..<3 { _ = try r.varint() }  // createdMS, legacyConsultations, legacySuccesses
        try string()  // vectorModel
        _ = try r.u64()  // embeddedHash
        try ref()  // vectorRef
        guard try r.varint() <= 1 << 20 else { throw r.failure("embedding dimensions") }
        _ = try r.u64()  // textHash
    }
}

/// KO lifecycle plus the closed loop: `ko.consulted` (task T) then `task.outcome` (task T) credits every
/// consultation of T since T's previous outcome, once.
public final class KnowledgeProjection: Projection {
    public static let name = "knowledge"
    /// 2: the text, creation time, legacy counts and embedding of each KO, and the text stamp; 3: bodies by
    /// reference to their event, not inline; 4: embeddings by reference too (their dimensions kept).
    public static let version: UInt16 = 4

    let symbols: SymbolTables
    /// By KO symbol (nil: never seen in a KO event, or not decoded yet: see `undecoded`).
    private var slots: [KnowledgeObject?] = []
    /// By KO symbol: where the KO's encoding starts in `snapshot` while it has not been decoded (-1: none).
    /// A snapshot load checks every KO (`KnowledgeObject.skip`) but builds one only when it is first used.
    private var undecoded: [Int] = []
    private var snapshot: [UInt8] = []
    private var snapshotEnd = 0
    private var snapshotStrings: Symbols?
    /// By task symbol: KOs consulted since that task's last outcome (credited by the next one).
    private var pendingSlots: [[Int32]] = []
    public private(set) var outcomes = 0
    /// Changes whenever a KO's text, tags, status or embedding changes (a hash chain over those events' ids):
    /// the search index (`KOSearchIndex`) built at one stamp is current while the stamp is unchanged.
    public private(set) var textStamp: UInt64 = 0

    public init(symbols: SymbolTables) { self.symbols = symbols }

    private func textChanged(_ e: FoldEvent) {
        var material = withUnsafeBytes(of: textStamp.littleEndian) { Array($0) }
        material += Array(e.eventID.utf8)
        textStamp = XXH3.hash(material)
    }

    public func ko(_ id: String) -> KnowledgeObject? {
        guard let s = symbols.kos.lookup(id), Int(s) < slots.count else { return nil }
        return object(Int(s))
    }

    /// The KO in slot `i`, decoded from the snapshot on first use.
    @inline(__always)
    private func object(_ i: Int) -> KnowledgeObject? {
        if let k = slots[i] { return k }
        guard i < undecoded.count, undecoded[i] >= 0 else { return nil }
        var r = SnapshotReader(snapshot, from: undecoded[i], to: snapshotEnd, cache: snapshotStrings)
        undecoded[i] = -1
        do throws(SnapshotReader.Failure) {
            slots[i] = try KnowledgeObject(decoding: &r)
        } catch {
            // `skip` accepted these bytes at load, and it reads what the decoder reads.
            preconditionFailure("knowledge snapshot: KO \(symbols.kos[Int32(i)]) checked but does not decode: \(error)")
        }
        return slots[i]
    }

    /// Decodes every KO not decoded yet (before reading or writing them all).
    private func decodeAll() {
        guard !snapshot.isEmpty else { return }
        for i in undecoded.indices where undecoded[i] >= 0 { _ = object(i) }
        undecoded = []
        snapshot = []
    }

    /// Every KO by id (built on each call).
    public var kos: [String: KnowledgeObject] {
        decodeAll()
        var m: [String: KnowledgeObject] = [:]
        for case let k? in slots { m[k.id] = k }
        return m
    }

    /// The KOs a task consulted since its last outcome.
    public func pending(task: String) -> [String] {
        guard let t = symbols.tasks.lookup(task), Int(t) < pendingSlots.count else { return [] }
        return pendingSlots[Int(t)].map { symbols.kos[$0] }
    }

    @inline(__always)
    private func slot(_ e: FoldEvent) -> Int? {
        guard let s = e.symbol(.koID, symbols.kos), !symbols.kos[s].isEmpty else { return nil }
        let i = Int(s)
        if i >= slots.count { slots.append(contentsOf: repeatElement(nil, count: i - slots.count + 1)) }
        if object(i) == nil { slots[i] = KnowledgeObject(id: symbols.kos[s]) }
        return i
    }

    public func apply(_ e: FoldEvent) -> Bool {
        guard let kind = e.kind else { return false }
        let f = e.fields
        switch kind {
        case .koProposed, .koApproved, .koSuperseded, .koRetired:
            guard let i = slot(e) else { return false }
            switch kind {
            case .koProposed:
                let k = slots[i]!
                if let t = f.string(.title) { k.title = t }
                if let t = f.strings(.tags) { k.tags = t }
                if let p = f.strings(.projects) { k.projects = p }
                if let b = f.string(.body) {
                    k.body = b
                    k.bodyRef = e.ref
                    k.bodyKnown = true
                }
                if let c = f.int(.legacyConsultations), c >= 0, c <= Int64(Int32.max) {
                    k.legacyConsultations = Int(c)
                    k.legacySuccesses = f.int(.legacySuccesses).map { Int(max(0, min($0, c))) } ?? -1
                }
                // Only from a revision that carries its body: the same value whether the fold started from
                // scratch or from a snapshot (which keeps no body), so `rebuild --check` stays byte-identical.
                k.textHash =
                    f.string(.body) != nil
                    ? XXH3.hash(KnowledgeObject.embeddingText(title: k.title, tags: k.tags, body: k.body)) : 0
                if k.status == .unknown { k.status = .proposed }
                if k.proposed == nil {
                    k.proposed = e.ref
                    k.createdMS = ISO8601.parse(e.occurredAt) ?? e.millis
                }
                textChanged(e)
            case .koApproved:
                if slots[i]!.status == .unknown || slots[i]!.status == .proposed { slots[i]!.status = .approved }
                textChanged(e)
            case .koSuperseded:
                slots[i]!.status = .superseded
                slots[i]!.supersededBy = f.string(.by) ?? ""
                textChanged(e)
            default:
                slots[i]!.status = .retired
                textChanged(e)
            }
            return true
        case .koEmbedded:
            guard let i = slot(e), let v = f.floats(.vector), !v.isEmpty, v.count <= 1 << 20 else { return false }
            slots[i]!.vector = v
            slots[i]!.vectorKnown = true
            slots[i]!.vectorRef = e.ref
            slots[i]!.vectorDimensions = v.count
            slots[i]!.vectorModel = f.string(.model) ?? ""
            slots[i]!.embeddedHash = f.string(.textHash).flatMap { UInt64($0, radix: 16) } ?? 0
            textChanged(e)
            return true
        case .koConsulted:
            guard let i = slot(e) else { return false }
            slots[i]!.consultations += 1
            slots[i]!.lastConsultedHLC = e.hlc
            if e.taskID >= 0 {
                let t = Int(e.taskID)
                if t >= pendingSlots.count {
                    pendingSlots.append(contentsOf: repeatElement([], count: t - pendingSlots.count + 1))
                }
                pendingSlots[t].append(Int32(i))
            }
            return true
        case .taskOutcome, .koOutcomeV1:
            guard let success = f.bool(.success) else { return false }
            outcomes += 1
            guard e.taskID >= 0, Int(e.taskID) < pendingSlots.count else { return true }
            let t = Int(e.taskID)
            for k in pendingSlots[t] where Int(k) < slots.count && object(Int(k)) != nil {
                if success { slots[Int(k)]!.successes += 1 } else { slots[Int(k)]!.failures += 1 }
            }
            pendingSlots[t].removeAll()
            return true
        default:
            return false
        }
    }

    /// KOs best first: effectiveness, then consultations, then id. Superseded and retired KOs are left out
    /// unless `all`.
    public func ranked(all: Bool = false, tag: String? = nil) -> [KnowledgeObject] {
        decodeAll()
        return slots.compactMap { $0 }.filter {
            (all || ($0.status != .superseded && $0.status != .retired)) && (tag == nil || $0.tags.contains(tag!))
        }
        .sorted {
            let a = $0.effectiveness
            let b = $1.effectiveness
            if a != b { return a > b }
            if $0.consultations != $1.consultations { return $0.consultations > $1.consultations }
            return $0.id < $1.id
        }
    }

    public func encode(_ w: inout SnapshotWriter) {
        decodeAll()
        w.entries(slots.compactMap { $0.map { ($0.id, $0) } })
        let waiting = pendingSlots.indices.filter { !pendingSlots[$0].isEmpty }
            .map { (symbols.tasks[Int32($0)], pendingSlots[$0].map { symbols.kos[$0] }) }.sorted {
                utf8Less($0.0, $1.0)
            }
        w.varint(UInt64(waiting.count))
        for (t, list) in waiting {
            w.string(t)
            w.strings(list)
        }
        w.int(outcomes)
        w.u64(textStamp)
    }

    public init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure) {
        self.symbols = symbols
        // `entries`, checked (`KnowledgeObject.skip`) but decoded on first use.
        let count = try r.count()
        var previous: String?
        snapshot = r.bytes
        snapshotEnd = r.end
        snapshotStrings = r.cache
        for _ in 0..<count {
            let k = try r.string()
            if let p = previous, !utf8Less(p, k) { throw r.failure("keys out of order") }
            previous = k
            let i = Int(symbols.kos.id(k))
            if i >= slots.count { slots.append(contentsOf: repeatElement(nil, count: i - slots.count + 1)) }
            if i >= undecoded.count { undecoded.append(contentsOf: repeatElement(-1, count: i - undecoded.count + 1)) }
            undecoded[i] = r.offset
            try KnowledgeObject.skip(&r)
        }
        let n = try r.count()
        for _ in 0..<n {
            let t = Int(symbols.tasks.id(try r.string()))
            if t >= pendingSlots.count {
                pendingSlots.append(contentsOf: repeatElement([], count: t - pendingSlots.count + 1))
            }
            pendingSlots[t] = try r.strings().map { symbols.kos.id($0) }
        }
        outcomes = try r.int()
        textStamp = try r.u64()
    }
}
