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

    public init(id: String) { self.id = id }

    /// Laplace-smoothed success rate `(s + 1) / (c + 2)`: a KO nobody has used ranks at 0.5, not 0 or 1.
    public var effectiveness: Double { Double(successes + 1) / Double(consultations + 2) }

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
    }
}

/// KO lifecycle plus the closed loop: `ko.consulted` (task T) then `task.outcome` (task T) credits every
/// consultation of T since T's previous outcome, once.
public final class KnowledgeProjection: Projection {
    public static let name = "knowledge"
    public static let version: UInt16 = 1

    let symbols: SymbolTables
    /// By KO symbol (nil: never seen in a KO event).
    private var slots: [KnowledgeObject?] = []
    /// By task symbol: KOs consulted since that task's last outcome (credited by the next one).
    private var pendingSlots: [[Int32]] = []
    public private(set) var outcomes = 0

    public init(symbols: SymbolTables) { self.symbols = symbols }

    public func ko(_ id: String) -> KnowledgeObject? {
        guard let s = symbols.kos.lookup(id), Int(s) < slots.count else { return nil }
        return slots[Int(s)]
    }

    /// Every KO by id (built on each call).
    public var kos: [String: KnowledgeObject] {
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
        if slots[i] == nil { slots[i] = KnowledgeObject(id: symbols.kos[s]) }
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
                if let t = f.string(.title) { slots[i]!.title = t }
                if let t = f.strings(.tags) { slots[i]!.tags = t }
                if let p = f.strings(.projects) { slots[i]!.projects = p }
                if slots[i]!.status == .unknown { slots[i]!.status = .proposed }
                if slots[i]!.proposed == nil { slots[i]!.proposed = e.ref }
            case .koApproved:
                if slots[i]!.status == .unknown || slots[i]!.status == .proposed { slots[i]!.status = .approved }
            case .koSuperseded:
                slots[i]!.status = .superseded
                slots[i]!.supersededBy = f.string(.by) ?? ""
            default:
                slots[i]!.status = .retired
            }
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
            for k in pendingSlots[t] where Int(k) < slots.count && slots[Int(k)] != nil {
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
        slots.compactMap { $0 }.filter {
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
    }

    public init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure) {
        self.symbols = symbols
        for (k, v) in try r.entries(KnowledgeObject.self) {
            let i = Int(symbols.kos.id(k))
            if i >= slots.count { slots.append(contentsOf: repeatElement(nil, count: i - slots.count + 1)) }
            slots[i] = v
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
    }
}
