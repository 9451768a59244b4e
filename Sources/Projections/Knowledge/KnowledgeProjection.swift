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
public struct KnowledgeObject: Sendable, Equatable, SnapshotCodable {
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

    public private(set) var kos: [String: KnowledgeObject] = [:]
    /// task → KOs consulted since that task's last outcome (credited by the next one).
    public private(set) var pending: [String: [String]] = [:]
    public private(set) var outcomes = 0

    public init() {}

    public func apply(_ e: FoldEvent) -> Bool {
        guard let kind = e.kind else { return false }
        let f = e.fields
        switch kind {
        case .koProposed, .koApproved, .koSuperseded, .koRetired:
            let id = e.id(.koID)
            guard !id.isEmpty else { return false }
            var ko = kos[id] ?? KnowledgeObject(id: id)
            switch kind {
            case .koProposed:
                if let t = f.string(.title) { ko.title = t }
                if let t = f.strings(.tags) { ko.tags = t }
                if let p = f.strings(.projects) { ko.projects = p }
                if ko.status == .unknown { ko.status = .proposed }
                ko.proposed = ko.proposed ?? e.ref
            case .koApproved:
                if ko.status == .unknown || ko.status == .proposed { ko.status = .approved }
            case .koSuperseded:
                ko.status = .superseded
                ko.supersededBy = f.string(.by) ?? ""
            default:
                ko.status = .retired
            }
            kos[id] = ko
            return true
        case .koConsulted:
            let id = e.id(.koID)
            guard !id.isEmpty else { return false }
            kos[id, default: KnowledgeObject(id: id)].consultations += 1
            kos[id]!.lastConsultedHLC = e.hlc
            if !e.task.isEmpty { pending[e.task, default: []].append(id) }
            return true
        case .taskOutcome, .koOutcomeV1:
            guard let success = f.bool(.success) else { return false }
            outcomes += 1
            guard !e.task.isEmpty, let consulted = pending.removeValue(forKey: e.task) else { return true }
            for id in consulted {
                if success { kos[id]!.successes += 1 } else { kos[id]!.failures += 1 }
            }
            return true
        default:
            return false
        }
    }

    /// KOs best first: effectiveness, then consultations, then id. Superseded and retired KOs are left out
    /// unless `all`.
    public func ranked(all: Bool = false, tag: String? = nil) -> [KnowledgeObject] {
        kos.values.filter {
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
        w.map(kos)
        w.varint(UInt64(pending.count))
        for t in pending.keys.sorted() {
            w.string(t)
            w.strings(pending[t]!)
        }
        w.int(outcomes)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        kos = try r.map(KnowledgeObject.self)
        let n = try r.count()
        for _ in 0..<n {
            let t = try r.string()
            pending[t] = try r.strings()
        }
        outcomes = try r.int()
    }
}
