import Foundation
import Testing

@testable import AIBrainCLI
@testable import EventLog

/// Cursors, times and store discovery: the parsing users type by hand.
struct ArgumentTests {
    func event(_ origin: OriginID, _ lsn: UInt64, _ id: String) -> Event {
        Event(
            origin: origin, epoch: 3, lsn: lsn, hlc: HLC.make(milliseconds: 1_700_000_000_000 + Int64(lsn)),
            recordedAt: 0, draft: EventDraft(eventID: id, type: "a.b", payload: Array(#"{"n":1}"#.utf8)))
    }

    @Test func cursorTokensRoundTripAndCatchTypos() throws {
        var c = TailCursor()
        let a = OriginID(hex: "0123456789abcdef0123456789abcdef")!
        let b = OriginID(hex: "ffeeddccbbaa99887766554433221100")!
        c.advance(to: event(b, 7, "x"))
        c.advance(to: event(a, 41, "y"))
        c.advance(to: event(a, 42, "z"))
        #expect(c.marks.map(\.origin) == [a, b])
        #expect(c.startLSNs == [a: 43, b: 8])
        let parsed = try TailCursor(token: c.token)
        #expect(parsed == c)
        var chars = Array(c.token)
        chars[10] = chars[10] == "A" ? "B" : "A"
        #expect(throws: CLIError.self) { try TailCursor(token: String(chars)) }
        #expect(throws: CLIError.self) { try TailCursor(token: String(c.token.dropLast(3))) }
        #expect(throws: CLIError.self) { try TailCursor(token: "not-a-cursor") }
    }

    @Test func recordHashCoversIdClockAndPayload() {
        let o = OriginID(hex: "0123456789abcdef0123456789abcdef")!
        let e = event(o, 1, "x")
        var other = e
        other.draft.payload = Array(#"{"n":2}"#.utf8)
        #expect(TailCursor.recordHash(e) != TailCursor.recordHash(other))
        other = e
        other.hlc += 1
        #expect(TailCursor.recordHash(e) != TailCursor.recordHash(other))
        other = e
        other.recordedAt = 99  // not part of the hash: the same record in any store
        #expect(TailCursor.recordHash(e) == TailCursor.recordHash(other))
    }

    @Test(
        arguments: [
            ("2026-12-01", 1_796_083_200_000), ("2026-12-01T10:15:00Z", 1_796_120_100_000),
            ("2026-12-01T10:15:00.25Z", 1_796_120_100_250), ("2026-12-01T11:15:00+01:00", 1_796_120_100_000),
            ("2026-12-01 10:15", 1_796_120_100_000), ("1970-01-01T00:00:00Z", 0),
        ] as [(String, Int64)])
    func times(_ text: String, _ ms: Int64) throws {
        #expect(try TimeArgument.parse(text) == ms)
    }

    @Test func relativeTimesAndRejects() throws {
        #expect(try TimeArgument.parse("-2h", now: 10_000_000) == 10_000_000 - 7_200_000)
        #expect(try TimeArgument.parse("90s ago", now: 100_000) == 10_000)
        #expect(try TimeArgument.parse("now", now: 5) == 5)
        #expect(try TimeArgument.parse("3d", now: 300_000_000) == 300_000_000 - 259_200_000, "a bare span counts back")
        for bad in ["yesterday-ish", "2026-13-01", "2026-12-01T25:00", "-5y", "2026-12-01T10:15:00Q"] {
            #expect(throws: CLIError.self, "\(bad)") { try TimeArgument.parse(bad) }
        }
    }

    @Test func storePathsAreNormalized() {
        #expect(StoreLocator.absolute("../x/./y", in: "/a/b") == "/a/x/y")
        #expect(StoreLocator.absolute("/abs", in: "/a") == "/abs")
    }

    @Test func idempotencyKeysAreScopedToTheStream() {
        let a = Emit.derivedEventID(stream: "task/A", key: "step-1")
        #expect(a == Emit.derivedEventID(stream: "task/A", key: "step-1"))
        #expect(a != Emit.derivedEventID(stream: "task/B", key: "step-1"))
        #expect(EnvelopeValidation.isValidEventID(a) && a.hasPrefix("ik-") && a.count == 35)
    }

    @Test func initNamesAreSanitized() {
        #expect(Init.sanitized("my project (v2)") == "my-project--v2-")
        #expect(Init.sanitized("__") == "local")
        #expect(Init.isValidName("credentialmate") && !Init.isValidName("-x") && !Init.isValidName("a b"))
    }
}
