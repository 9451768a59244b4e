import EventLog

/// Two manifests compared origin by origin, seal by seal (audit-security.md §7: in sync when heads are
/// equal; behind when one head appears in the other's chain; forked when both hold a different seal at the
/// same position).
public struct SyncComparison: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case inSync
        /// The peer holds `segments` more of this origin than we do.
        case behind(segments: Int)
        /// We hold `segments` more than the peer.
        case ahead(segments: Int)
        /// The first position where the two chains differ: each side's segment there and its seal hash.
        case forked(lsn: UInt64, ourSegment: String, ourSeal: String, theirSegment: String, theirSeal: String)

        public var word: String {
            switch self {
            case .inSync: return "in-sync"
            case .behind: return "behind"
            case .ahead: return "ahead"
            case .forked: return "forked"
            }
        }
    }

    public struct OriginRow: Sendable, Equatable {
        public var origin: String
        public var ours: Manifest.Origin?
        public var theirs: Manifest.Origin?
        public var state: State
    }

    public var rows: [OriginRow]

    public var inSync: Bool { rows.allSatisfy { $0.state == .inSync } }
    public var forked: Bool { rows.contains { if case .forked = $0.state { return true } else { return false } } }

    public init(ours: Manifest, theirs: Manifest) {
        let all = Set(ours.origins.map(\.origin)).union(theirs.origins.map(\.origin)).sorted()
        rows = all.map { o in
            let a = ours.origin(o)
            let b = theirs.origin(o)
            return OriginRow(origin: o, ours: a, theirs: b, state: Self.compare(a?.seals ?? [], b?.seals ?? []))
        }
    }

    static func compare(_ a: [Manifest.Seal], _ b: [Manifest.Seal]) -> State {
        // Walk both chains by LSN: the same name and hash at each step, or a fork at the first difference.
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            let x = a[i]
            let y = b[j]
            if x.firstLSN == y.firstLSN && x.sealHash == y.sealHash && x.lastLSN == y.lastLSN {
                i += 1
                j += 1
                continue
            }
            return .forked(
                lsn: min(x.firstLSN, y.firstLSN), ourSegment: x.name, ourSeal: x.sealHash, theirSegment: y.name,
                theirSeal: y.sealHash)
        }
        if i == a.count && j == b.count { return .inSync }
        if i == a.count { return .behind(segments: b.count - j) }
        return .ahead(segments: a.count - i)
    }
}
