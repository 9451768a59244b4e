import Foundation

/// Every event type the projections understand, with the version the catalogue writes today.
///
/// Older shapes stay in the catalogue as their own kinds (`work_item.transitioned` v1, `ko.outcome` v1: the
/// benchmark workload's types) and are upcast by the projections when they are folded; types that are not
/// listed here are kept in the log, shown by `replay`/`tail`, and counted as unknown by `rebuild`.
public enum EventKind: UInt8, CaseIterable, Sendable, Comparable {
    case sessionStarted, sessionCheckpointed, sessionForked, sessionEnded
    case workItemEnqueued, workItemLeased, workItemHeartbeat, workItemCompleted, workItemFailed
    case workItemRetryScheduled, workItemRescued, workItemDiscarded, workItemCancelled
    case workItemTransitionedV1
    case decisionRecorded, decisionSuperseded
    case koProposed, koApproved, koSuperseded, koRetired, koConsulted, taskOutcome, koOutcomeV1
    case usageRecorded
    /// Crypto-shredding's record (kept and counted; no projection folds it).
    case streamShredded
    /// An embedding of a KO's text (the semantic arm of `ko search`).
    case koEmbedded

    public static func < (a: EventKind, b: EventKind) -> Bool { a.rawValue < b.rawValue }

    /// The envelope `type` string.
    public var typeName: String {
        switch self {
        case .sessionStarted: "session.started"
        case .sessionCheckpointed: "session.checkpointed"
        case .sessionForked: "session.forked"
        case .sessionEnded: "session.ended"
        case .workItemEnqueued: "work_item.enqueued"
        case .workItemLeased: "work_item.leased"
        case .workItemHeartbeat: "work_item.heartbeat"
        case .workItemCompleted: "work_item.completed"
        case .workItemFailed: "work_item.failed"
        case .workItemRetryScheduled: "work_item.retry_scheduled"
        case .workItemRescued: "work_item.rescued"
        case .workItemDiscarded: "work_item.discarded"
        case .workItemCancelled: "work_item.cancelled"
        case .workItemTransitionedV1: "work_item.transitioned"
        case .decisionRecorded: "decision.recorded"
        case .decisionSuperseded: "decision.superseded"
        case .koProposed: "ko.proposed"
        case .koApproved: "ko.approved"
        case .koSuperseded: "ko.superseded"
        case .koRetired: "ko.retired"
        case .koConsulted: "ko.consulted"
        case .taskOutcome: "task.outcome"
        case .koOutcomeV1: "ko.outcome"
        case .usageRecorded: "usage.recorded"
        case .streamShredded: "stream.shredded"
        case .koEmbedded: "ko.embedded"
        }
    }

    /// The current-version work-item events: their transitions are checked at emit time.
    public var isQueueTransition: Bool {
        switch self {
        case .workItemEnqueued, .workItemLeased, .workItemHeartbeat, .workItemCompleted, .workItemFailed,
            .workItemRetryScheduled, .workItemRescued, .workItemDiscarded, .workItemCancelled:
            true
        default: false
        }
    }

    public init?(typeName: String) {
        guard let k = EventKind.byName[typeName] else { return nil }
        self = k
    }

    static let byName: [String: EventKind] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.typeName, $0) })
}

/// Recognises an envelope `type` from its UTF-8 bytes without building a `String` (the replay hot path).
public struct EventKindTable: Sendable {
    /// Open addressing over a 64-slot table keyed by FNV-1a of the name; each slot keeps the name to compare.
    private var slots: [(hash: UInt64, kind: EventKind, name: [UInt8])?]

    public init() {
        slots = Array(repeating: nil, count: 64)
        for k in EventKind.allCases {
            let name = Array(k.typeName.utf8)
            let h = name.withUnsafeBytes { FNV.hash($0) }
            var i = Int(h & 63)
            while slots[i] != nil { i = (i + 1) & 63 }
            slots[i] = (h, k, name)
        }
    }

    @inline(__always)
    public func kind(_ type: UnsafeRawBufferPointer) -> EventKind? {
        let h = FNV.hash(type)
        var i = Int(h & 63)
        while let s = slots[i] {
            if s.hash == h, s.name.count == type.count,
                s.name.withUnsafeBytes({ memcmp($0.baseAddress!, type.baseAddress!, type.count) == 0 })
            {
                return s.kind
            }
            i = (i + 1) & 63
        }
        return nil
    }
}

/// FNV-1a, 64-bit: cheap for the short names and keys of the hot path.
public enum FNV {
    @inline(__always)
    public static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in b {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}
