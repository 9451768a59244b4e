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
        /// The peer holds `segments` more of *this store's own origin* than this store does: another store
        /// writes as this origin, or this store lost its newest segments (restored from an old backup?).
        /// Never resolved by shipping (adoption refuses own-origin segments it did not write).
        case ownOriginAhead(segments: Int)
        /// The first position where the two chains differ: each side's segment there and its seal hash.
        case forked(lsn: UInt64, ourSegment: String, ourSeal: String, theirSegment: String, theirSeal: String)

        public var word: String {
            switch self {
            case .inSync: return "in-sync"
            case .behind: return "behind"
            case .ahead: return "ahead"
            case .forked: return "forked"
            case .ownOriginAhead: return "own-origin-ahead"
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
    /// A fork, or a peer ahead of this store on its own origin: histories that shipping cannot reconcile.
    public var forked: Bool {
        rows.contains {
            switch $0.state {
            case .forked, .ownOriginAhead: return true
            default: return false
            }
        }
    }

    public init(ours: Manifest, theirs: Manifest) {
        let all = Set(ours.origins.map(\.origin)).union(theirs.origins.map(\.origin)).sorted()
        rows = all.map { o in
            let a = ours.origin(o)
            let b = theirs.origin(o)
            var state = Self.compare(a?.seals ?? [], b?.seals ?? [])
            if o == ours.store, case .behind(let k) = state { state = .ownOriginAhead(segments: k) }
            return OriginRow(origin: o, ours: a, theirs: b, state: state)
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
