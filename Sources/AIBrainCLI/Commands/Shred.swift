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
            let destroyed = try TeamCipher(storeRoot: root).shred(stream: stream)
            let log = try LogAccess.open(root)
            let keyID: String
            let team: String
            if let destroyed {
                (keyID, team) = (destroyed.dataKeyID, destroyed.team)
            } else if let earlier = try log.history(stream: stream).last(where: { $0.type == StreamShredded.eventType }
            ),
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
                eventID: "shred:" + keyID, type: StreamShredded.eventType, stream: stream,
                actor: ProcessInfo.processInfo.environment["AIBRAIN_ACTOR"] ?? "", team: team, payload: Array(data))
            let appended = try log.append([draft]).events[0]
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("stream", .string(stream)), ("key_id", .string(keyID)), ("destroyed", .bool(destroyed != nil)),
                        ("lsn", .uint(appended.lsn)), ("duplicate", .bool(appended.duplicate)),
                    ]).text)
            } else {
                try Output.stdout.line(
                    (destroyed != nil ? "destroyed" : "already destroyed:") + " data key \(keyID) of \(stream); "
                        + (appended.duplicate
                            ? "stream.shredded was recorded at LSN \(appended.lsn)"
                            : "recorded stream.shredded at LSN \(appended.lsn)"))
            }
        }
    }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
