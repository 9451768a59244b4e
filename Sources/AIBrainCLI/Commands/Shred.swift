import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Trust

/// `aibrain shred --stream S`: crypto-shredding (FORMAT.md "Shreddable streams").
struct ShredCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shred",
        abstract: "Destroy a stream's data key: its sealed payloads can never be read again.",
        discussion: """
            The key file is deleted durably (unlink, then fsync of its directory), then a stream.shredded event \
            is appended to the stream. Readers show [shredded] for its sealed payloads; envelopes stay, and \
            verify, seal chains and proofs stay green (they cover the stored, sealed bytes). Copies of the key \
            elsewhere (backups of .aibrain/keys/) must be destroyed too. Running it again appends nothing new.
            """)
    @Option(
        help: ArgumentHelp("The stream (it must have a data key: `aibrain keys stream-key add`).", valueName: "stream"))
    var stream: String
    @Option(help: ArgumentHelp("Why, recorded in the event (never the personal data itself).", valueName: "text"))
    var reason: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            let log = try LogAccess.open(root)
            let done = try StreamShredding.shred(
                stream: stream, reason: reason, actor: ProcessInfo.processInfo.environment["AIBRAIN_ACTOR"] ?? "",
                cipher: TeamCipher(storeRoot: root), log: log)
            let (keyID, destroyed, appended) = (done.keyID, done.destroyed, done.appended)
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("stream", .string(stream)), ("key_id", .string(keyID)), ("destroyed", .bool(destroyed)),
                        ("lsn", .uint(appended.lsn)), ("duplicate", .bool(appended.duplicate)),
                    ]).text)
            } else {
                try Output.stdout.line(
                    (destroyed ? "destroyed" : "already destroyed:") + " data key \(keyID) of \(stream); "
                        + (appended.duplicate
                            ? "stream.shredded was recorded at LSN \(appended.lsn)"
                            : "recorded stream.shredded at LSN \(appended.lsn)"))
            }
        }
    }
}

/// What `aibrain shred` does, on any file system: destroy the stream's data key durably, then append one
/// `stream.shredded` event whose id is named by the key, so a rerun after a crash (even one between the key's
/// unlink and the append) finds the key id in the tombstone or in the earlier event and records it once.
public enum StreamShredding {
    public struct Done: Sendable {
        public var keyID: String
        public var team: String
        /// Whether this run destroyed the key (false: an earlier run did).
        public var destroyed: Bool
        public var appended: Appended
    }

    public static func shred(stream: String, reason: String?, actor: String, cipher: TeamCipher, log: EventLog)
        throws -> Done
    {
        let destroyed = try cipher.shred(stream: stream)
        let keyID: String
        let team: String
        if let destroyed {
            (keyID, team) = (destroyed.dataKeyID, destroyed.team)
        } else if let earlier = try log.history(stream: stream).last(where: { $0.type == StreamShredded.eventType }),
            let p = try? StreamShredded.decodeValidated(from: earlier.payload)
        {
            (keyID, team) = (p.keyID, earlier.draft.team)
        } else {
            throw CLIError(
                .error, code: EventLogError.Code.keyMissing.rawValue,
                "stream \(stream) has no data key here (nothing to shred)",
                hint: "`aibrain keys stream-key add \(stream) --team TEAM` makes a stream shreddable")
        }
        let payload = StreamShredded(stream: stream, keyID: keyID, reason: reason)
        var data = try JSONEncoder.sortedKeys.encode(payload)
        if data.isEmpty { data = Data("{}".utf8) }
        // One event per destroyed key: a rerun (or a crash after the unlink) finds the same id.
        let draft = EventDraft(
            eventID: "shred:" + keyID, type: StreamShredded.eventType, stream: stream, actor: actor, team: team,
            payload: Array(data))
        let appended = try log.append([draft]).events[0]
        return Done(keyID: keyID, team: team, destroyed: destroyed != nil, appended: appended)
    }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
