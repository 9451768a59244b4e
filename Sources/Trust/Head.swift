import EventLog
import Foundation

/// A signed head: where an origin's sealed history stood, signed by its key, to be kept somewhere the
/// store's host cannot rewrite (another repo, a ticket, an auditor's mailbox). The local chain cannot show
/// that its newest segments were deleted or the store rolled back to a copy; a head kept elsewhere can.
///
/// ```
/// aibrain.head/<origin hex>
/// epoch <epoch of the newest seal>
/// segments <number of sealed segments>
/// lsn <last sealed LSN>
/// seal <base64 seal hash of the newest segment, or "none">
/// time <RFC 3339 UTC>
/// ```
public struct SignedHead: Sendable, Equatable {
    public var origin: OriginID
    public var epoch: UInt32
    public var segments: Int
    public var lastLSN: UInt64
    public var sealHash: [UInt8]?
    public var time: String

    public init(origin: OriginID, epoch: UInt32, segments: Int, lastLSN: UInt64, sealHash: [UInt8]?, time: String) {
        self.origin = origin
        self.epoch = epoch
        self.segments = segments
        self.lastLSN = lastLSN
        self.sealHash = sealHash
        self.time = time
    }

    public var text: String {
        """
        aibrain.head/\(origin.hex)
        epoch \(epoch)
        segments \(segments)
        lsn \(lastLSN)
        seal \(sealHash.map { Data($0).base64EncodedString() } ?? "none")
        time \(time)

        """
    }

    public func signed(by key: NoteSignerKey) throws(EventLogError) -> SignedNote {
        SignedNote(text: text, signatures: [try key.sign(text)])
    }

    /// Parses the text of a head note. Errors name the line.
    public init(parsing note: SignedNote, path: String) throws(EventLogError) {
        let lines = note.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        func bad(_ n: Int, _ what: String) -> EventLogError {
            EventLogError(.invalidInput, "line \(n) of the head must be `\(what)`", path: path)
        }
        func value(_ n: Int, _ key: String) throws(EventLogError) -> Substring {
            guard n <= lines.count, lines[lines.startIndex + n - 1].hasPrefix(key + " ") else {
                throw bad(n, key + " …")
            }
            return lines[lines.startIndex + n - 1].dropFirst(key.count + 1)
        }
        guard lines.count == 6, lines[lines.startIndex].hasPrefix("aibrain.head/"),
            let o = OriginID(hex: String(lines[lines.startIndex].dropFirst("aibrain.head/".count)))
        else { throw bad(1, "aibrain.head/<origin hex>` and five more lines") }
        guard let e = UInt32(try value(2, "epoch")) else { throw bad(2, "epoch <number>") }
        guard let s = Int(try value(3, "segments")), s >= 0 else { throw bad(3, "segments <number>") }
        guard let l = UInt64(try value(4, "lsn")) else { throw bad(4, "lsn <number>") }
        let sealText = try value(5, "seal")
        var seal: [UInt8]?
        if sealText != "none" {
            guard let d = Data(base64Encoded: String(sealText)), d.count == 32 else {
                throw bad(5, "seal <base64 SHA-256>")
            }
            seal = [UInt8](d)
        }
        guard (seal == nil) == (s == 0) else { throw bad(5, "seal none` exactly when `segments 0") }
        self.init(origin: o, epoch: e, segments: s, lastLSN: l, sealHash: seal, time: String(try value(6, "time")))
    }
}

/// What a store's sealed history says against a head kept elsewhere.
public enum HeadComparison: Sendable, Equatable {
    /// The head's newest segment is in the chain, at its index, with its seal hash (the log may have grown).
    case consistent(newer: Int)
    /// The store holds fewer sealed segments than the head: the newest ones were deleted or rolled back.
    case missingSegments(have: Int, head: Int)
    /// The segment at the head's position has another seal hash: history was rewritten or forked.
    case rewritten(index: Int, firstLSN: UInt64)
    /// The store's epoch is older than the head's: a restored copy from before the head.
    case epochRolledBack(store: UInt32, head: UInt32)

    public var isFailure: Bool {
        if case .consistent = self { return false }
        return true
    }

    /// Compares `head` with the origin's sealed segments (CATALOG order) and the store's current epoch.
    public static func compare(
        _ head: SignedHead, segments: [(epoch: UInt32, firstLSN: UInt64, lastLSN: UInt64, sealHash: [UInt8])],
        storeEpoch: UInt32
    ) -> HeadComparison {
        if storeEpoch < head.epoch { return .epochRolledBack(store: storeEpoch, head: head.epoch) }
        guard segments.count >= head.segments else {
            return .missingSegments(have: segments.count, head: head.segments)
        }
        guard head.segments > 0 else { return .consistent(newer: segments.count) }
        let s = segments[head.segments - 1]
        guard s.sealHash == head.sealHash, s.lastLSN == head.lastLSN, s.epoch == head.epoch else {
            return .rewritten(index: head.segments - 1, firstLSN: s.firstLSN)
        }
        return .consistent(newer: segments.count - head.segments)
    }

    public var summary: String {
        switch self {
        case .consistent(let n):
            return n == 0
                ? "the store's sealed history ends exactly at the head"
                : "the head is in the chain; \(n) segment(s) sealed since"
        case .missingSegments(let have, let head):
            return
                "the head names \(head) sealed segment(s), the store holds \(have): the newest \(head - have) were deleted or the store was rolled back"
        case .rewritten(let i, let first):
            return
                "segment \(i + 1) (from LSN \(first)) has another seal than the head records: the history was rewritten or forked"
        case .epochRolledBack(let store, let head):
            return
                "the store is at epoch \(store), the head at epoch \(head): this is a copy restored from before the head"
        }
    }
}
