import EventLog
import Trust

/// Opens the local origin's log for a command. A writer gets the origin key as its seal signer (every seal
/// it writes, on roll, on `seal`, or when an open redoes a seal a crash interrupted, is signed).
enum LogAccess {
    static func open(_ root: String, options: OpenOptions = OpenOptions()) throws(EventLogError) -> EventLog {
        var o = options
        if !o.readOnly && o.signer == nil { o.signer = try OriginSigner.load(storeRoot: root) }
        return try EventLog(root: root, options: o)
    }
}
