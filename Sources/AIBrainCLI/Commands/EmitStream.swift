import BrainEvents
import EventLog
import Foundation
import Projections

/// `emit --stream`: events from a pipe, committed in groups (≤ 1,000 lines, or 5 ms after the group's
/// first line), one fsync per group, then one ack line per input line, in input order:
/// `{"line":N,"event_id":…,"lsn":…,"duplicate":false,"cursor":…,"durable":true}`, or
/// `{"line":N,"error":{"code":…,"message":…,"exit":…}}` for a line that was refused (nothing of it is
/// appended; the other lines of its group are). The exit status is the worst line's.
struct EmitStream {
    static let maxGroup = 1000
    static let windowNanos: UInt64 = 5_000_000

    let pii: PIIOptions

    func run(root: String) throws {
        let log = try LogAccess.open(root)
        var input = pii.input()
        /// What the precondition found, carried out of the append (it is thrown to abort the append).
        final class RefusalBox: Error, @unchecked Sendable {
            var refused: [(index: Int, refusal: QueueRefusal)] = []
            var governed: [(index: Int, violations: [Violation])] = []
        }
        let governance = try GovernanceGate.load(root: root)
        var pending: [(number: Int, bytes: [UInt8])] = []
        var windowStart: UInt64 = 0
        var partial: [UInt8] = []
        var lineNumber = 0
        var worst = ExitStatus.ok
        var eof = false
        var chunk = [UInt8](repeating: 0, count: 1 << 16)

        func commitPending() throws {
            guard !pending.isEmpty else { return }
            var acks = [JSONOut?](repeating: nil, count: pending.count)
            var drafts: [EventDraft] = []
            var slots: [Int] = []
            for (i, p) in pending.enumerated() {
                do throws(CLIError) {
                    let line = try input.parse(p.bytes, number: p.number, source: "stdin")
                    drafts.append(line.draft)
                    slots.append(i)
                } catch {
                    acks[i] = Self.errorAck(line: p.number, error)
                    if error.status.rawValue > worst.rawValue { worst = error.status }
                }
            }
            PIIOptions.printWarnings(input)
            input.warnings = []
            input.redactions = []
            // Work-item lines that break the queue's rules are refused one by one (exit 3 acks); the rest
            // of the group is appended without them (each try re-checks under the lock).
            var appended: AppendResult?
            while !drafts.isEmpty && appended == nil {
                let check = try QueueCheck(root: root, drafts: drafts)
                let box = RefusalBox()
                let group = drafts
                // Governance first (exit 4 acks): a line breaking a rule is left out before the queue judges.
                let precondition: ((AppendContext) throws -> Void)? =
                    check == nil && governance == nil
                    ? nil
                    : { ctx in
                        box.governed = try governance?.refusals(group, ctx) ?? []
                        if !box.governed.isEmpty { throw box }
                        box.refused = try check?.refusals(ctx) ?? []
                        if !box.refused.isEmpty { throw box }
                    }
                do {
                    appended = try log.append(drafts, precondition: precondition)
                } catch  where error.code == .preconditionFailed && !box.governed.isEmpty {
                    for (k, violations) in box.governed.reversed() {
                        let e = GovernanceGate.error(violations, line: nil, file: governance?.file ?? "")
                        acks[slots[k]] = Self.errorAck(line: pending[slots[k]].number, e)
                        if e.status.rawValue > worst.rawValue { worst = e.status }
                        drafts.remove(at: k)
                        slots.remove(at: k)
                    }
                } catch  where error.code == .preconditionFailed && !box.refused.isEmpty {
                    for (k, r) in box.refused.reversed() {
                        let e = CLIError(
                            .conflict, code: "illegal-transition", r.description + "; nothing was appended",
                            hint: "see the item with `aibrain queue show \(r.item)`")
                        acks[slots[k]] = Self.errorAck(line: pending[slots[k]].number, e)
                        if e.status.rawValue > worst.rawValue { worst = e.status }
                        drafts.remove(at: k)
                        slots.remove(at: k)
                    }
                } catch {
                    // Nothing of this group was acknowledged: say so for each of its lines, then stop.
                    let error = CLIError(error)
                    for i in slots { acks[i] = Self.errorAck(line: pending[i].number, error) }
                    try flush(acks)
                    throw error
                }
            }
            if let result = appended {
                for (k, a) in result.events.enumerated() {
                    let d = drafts[k]
                    let e = Event(
                        origin: log.origin, epoch: result.epoch, lsn: a.lsn, hlc: a.hlc, recordedAt: 0, draft: d)
                    var cursor = TailCursor()
                    cursor.advance(to: a.duplicate ? (try log.event(lsn: a.lsn) ?? e) : e)
                    acks[slots[k]] = .object([
                        ("line", .int(Int64(pending[slots[k]].number))), ("event_id", .string(a.eventID)),
                        ("lsn", .uint(a.lsn)), ("duplicate", .bool(a.duplicate)), ("cursor", .string(cursor.token)),
                        ("durable", .bool(result.durable)),
                    ])
                }
            }
            try flush(acks)
            pending.removeAll(keepingCapacity: true)
        }

        func flush(_ acks: [JSONOut?]) throws {
            for a in acks { if let a { try Output.stdout.line(a.bytes) } }
            try Output.stdout.flush()
        }

        func take(_ line: ArraySlice<UInt8>) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
            if pending.isEmpty { windowStart = OpenOptions.monotonicNanoseconds() }
            pending.append((lineNumber, Array(line)))
        }

        while !eof || !pending.isEmpty {
            if eof {
                try commitPending()
                break
            }
            var timeout: Int32 = -1
            if !pending.isEmpty {
                let elapsed = OpenOptions.monotonicNanoseconds() - windowStart
                if elapsed >= Self.windowNanos || pending.count >= Self.maxGroup {
                    try commitPending()
                    continue
                }
                timeout = Int32((Self.windowNanos - elapsed + 999_999) / 1_000_000)
            }
            var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw CLIError.stdin("waiting for stdin")
            }
            if ready == 0 { continue }  // the window closed: commit at the top of the loop
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw CLIError.stdin("reading stdin")
            }
            if n == 0 {
                eof = true
                if !partial.isEmpty {
                    take(partial[...])
                    partial = []
                }
                continue
            }
            var start = 0
            for k in 0..<n where chunk[k] == 0x0A {
                if partial.isEmpty {
                    take(chunk[start..<k])
                } else {
                    partial += chunk[start..<k]
                    take(partial[...])
                    partial = []
                }
                start = k + 1
                if pending.count >= Self.maxGroup { try commitPending() }
            }
            partial += chunk[start..<n]
        }
        if worst != .ok { exit(worst.rawValue) }
    }

    static func errorAck(line: Int, _ e: CLIError) -> JSONOut {
        var members: [(String, JSONOut)] = [
            ("code", .string(e.code)), ("message", .string(e.message)), ("exit", .int(Int64(e.status.rawValue))),
        ]
        members += e.details.filter { $0.0 != "line" }
        return .object([("line", .int(Int64(line))), ("error", .object(members))])
    }
}
