import EventLog

/// The index keys aibrain derives from a catalogue payload, so histories of items, KOs and sessions are
/// read through stream tables instead of scans.
public enum CatalogueKeys {
    /// Keys to add to a draft (at most the envelope's limit in total, existing keys first).
    public static func derive(type: String, payload: [UInt8]) -> [String] {
        guard let kind = EventKind(typeName: type) else { return [] }
        let f = PayloadFields()
        return payload.withUnsafeBytes { p -> [String] in
            guard f.scan(p) else { return [] }
            var keys: [String] = []
            if kind.isQueueTransition || kind == .workItemTransitionedV1, let id = f.string(.workItemID), !id.isEmpty {
                keys.append("item/" + id)
                if kind == .workItemEnqueued, let u = f.string(.uniqueKey), !u.isEmpty { keys.append("unique/" + u) }
            }
            if let ko = f.string(.koID), !ko.isEmpty { keys.append("ko/" + ko) }
            if kind == .sessionStarted || kind == .sessionEnded, let s = f.string(.sessionID), !s.isEmpty {
                keys.append("session/" + s)
            }
            return keys
        }
    }
}
