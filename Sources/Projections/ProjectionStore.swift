import BrainEvents
import EventLog
import Foundation

/// Snapshots of the projections in `.aibrain/projections/` (layout: schemas/FORMAT.md, "Projection
/// snapshots"). Disposable: any doubt — a missing or damaged file, files from different points of the log,
/// a last event the log no longer holds, a late event that sorts earlier — means a rebuild from the log.
public struct ProjectionStore {
    public static let magic: [UInt8] = Array("AIBPROJ1".utf8)
    public static let formatVersion: UInt16 = 1
    static let eventIDsName = "eventids"

    public let directory: String
    public let fs: any FileSystem

    public init(paths: StorePaths, fs: any FileSystem) {
        directory = paths.projections
        self.fs = fs
    }

    public func path(_ name: String) -> String { directory + "/" + name + ".snap" }

    /// `.tmp-<pid>-<random>`: concurrent commands saving at once each rename only their own file.
    public static var uniqueTmpSuffix: String {
        ".tmp-\(getpid())-" + String(EventDraft.randomEventID().prefix(8))
    }

    /// How `open` got its state.
    public struct Outcome: Sendable, Equatable {
        /// Nil when the snapshots were used; otherwise why the projections were rebuilt from the log.
        public var rebuiltBecause: String?
        /// Events folded by this call (after the snapshot, or all of them on a rebuild).
        public var folded: Int
        /// Why writing the snapshots back failed (the view is still right: it was folded from the log).
        public var saveError: String?
    }

    /// The projections up to the log's current heads: from the snapshots plus the events after them, or
    /// rebuilt from scratch when the snapshots cannot be trusted. Saves new snapshots when anything changed.
    /// When `open` writes the snapshots back.
    public enum SavePolicy: Sendable {
        /// Never (`rebuild --check`, read-only inspection).
        case never
        /// After a rebuild, or once the events folded beyond the snapshot reach 4,096 or 2% of the log:
        /// rewriting every snapshot for a handful of new events would cost far more than folding them
        /// again (at 1M events the snapshots are ~57 MB; 1,000 events fold in ~2 ms).
        case whenWorthIt
        /// Whenever anything was folded.
        case always
    }

    public func open(_ reader: StoreReader, save: SavePolicy = .whenWorthIt) throws -> (ReplayEngine, Outcome) {
        var outcome = Outcome(rebuiltBecause: nil, folded: 0, saveError: nil)
        var engine: ReplayEngine
        switch load(reader) {
        case .success(let loaded):
            engine = loaded
            let before = engine.total + engine.duplicates
            do {
                try engine.catchUp(reader)
                outcome.folded = engine.total + engine.duplicates - before
            } catch let late as LateEvent {
                outcome.rebuiltBecause = "\(late)"
                engine = try Self.rebuild(reader)
                outcome.folded = engine.total + engine.duplicates
            }
        case .failure(let why):
            outcome.rebuiltBecause = why.reason
            engine = try Self.rebuild(reader)
            outcome.folded = engine.total + engine.duplicates
        }
        let worth: Bool
        switch save {
        case .never: worth = false
        case .always: worth = outcome.folded > 0 || outcome.rebuiltBecause != nil
        case .whenWorthIt:
            worth =
                outcome.rebuiltBecause != nil || outcome.folded >= max(4096, (engine.total + engine.duplicates) / 50)
        }
        if worth {
            // A read-only store, a full disk or a racing writer must not fail a query: report, carry on.
            do throws(EventLogError) { try self.save(engine) } catch { outcome.saveError = error.summary }
        }
        return (engine, outcome)
    }

    /// A fresh fold of the whole log.
    public static func rebuild(_ reader: StoreReader) throws -> ReplayEngine {
        let engine = ReplayEngine()
        try engine.catchUp(reader)
        return engine
    }

    // MARK: encoding

    /// Every snapshot file of an engine, by name, as bytes (what `save` writes and `rebuild --check` compares).
    public static func encode(_ engine: ReplayEngine) -> [(name: String, bytes: [UInt8])] {
        var files: [(String, [UInt8])] = []
        forEachFile(engine) { files.append(($0, $1)) }
        return files
    }

    /// Encodes the snapshot files one at a time (so a save holds one file's bytes at a time, not all).
    static func forEachFile(_ engine: ReplayEngine, _ body: (String, [UInt8]) throws -> Void) rethrows {
        var header = SnapshotWriter(capacity: 4096)
        encodeHeader(engine, &header)
        for p in engine.projections {
            let name = type(of: p).name
            try body(name, frame(name: name, version: type(of: p).version, header) { p.encode(&$0) })
        }
        if engine.dedupe {
            let ids = engine.seen.sorted { $0.high != $1.high ? $0.high < $1.high : $0.low < $1.low }
            try body(
                eventIDsName,
                frame(name: eventIDsName, version: 1, header) { w in
                    w.varint(UInt64(ids.count))
                    for id in ids {
                        w.u64(id.high)
                        w.u64(id.low)
                    }
                })
        }
    }

    /// magic, format version, name, projection version, header (length-prefixed), body length (u64 LE,
    /// patched after the body is written in place), body, XXH3-64 of everything before it.
    static func frame(name: String, version: UInt16, _ header: SnapshotWriter, body: (inout SnapshotWriter) -> Void)
        -> [UInt8]
    {
        var w = SnapshotWriter(capacity: header.bytes.count + (1 << 20))
        w.raw(magic)
        w.varint(UInt64(formatVersion))
        w.string(name)
        w.varint(UInt64(version))
        w.varint(UInt64(header.bytes.count))
        w.raw(header.bytes)
        let lengthAt = w.bytes.count
        w.u64(0)
        body(&w)
        w.patchU64(at: lengthAt, UInt64(w.bytes.count - lengthAt - 8))
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    static func encodeHeader(_ e: ReplayEngine, _ w: inout SnapshotWriter) {
        e.origins.encode(&w)
        w.bool(e.dedupe)
        w.varint(UInt64(e.positions.count))
        for o in e.positions.keys.sorted() {
            w.raw(o.bytes)
            w.varint(UInt64(e.positions[o]!.epoch))
            w.varint(e.positions[o]!.lsn)
            w.u64(e.positions[o]!.recordHash)
        }
        if let l = e.last {
            w.u8(1)
            w.u64(l.hlc)
            w.raw(l.origin.bytes)
            w.varint(l.lsn)
        } else {
            w.u8(0)
        }
        w.int(e.total)
        w.int(e.unused)
        w.int(e.unparsable)
        w.int(e.duplicates)
        w.varint(UInt64(e.counts.count))
        for k in e.counts.keys.sorted() {
            w.string(k.typeName)
            w.int(e.counts[k]!)
        }
        w.varint(UInt64(e.unknownTypes.count))
        for t in e.unknownTypes.keys.sorted(by: utf8Less) {
            w.string(t)
            w.int(e.unknownTypes[t]!)
        }
    }

    static func decodeHeader(_ e: ReplayEngine, _ r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        try e.origins.decode(&r)
        e.dedupe = try r.bool()
        var n = try r.count()
        for _ in 0..<n {
            let o = OriginID(bytes: try r.raw(16))
            let epoch = UInt32(truncatingIfNeeded: try r.varint())
            let lsn = try r.varint()
            e.positions[o] = FoldPosition(epoch: epoch, lsn: lsn, recordHash: try r.u64())
        }
        if try r.bool() {
            let hlc = try r.u64()
            let origin = OriginID(bytes: try r.raw(16))
            let lsn = try r.varint()
            e.last = LastApplied(hlc: hlc, origin: origin, lsn: lsn)
        }
        e.total = try r.int()
        e.unused = try r.int()
        e.unparsable = try r.int()
        e.duplicates = try r.int()
        n = try r.count()
        for _ in 0..<n {
            let name = try r.string()
            guard let k = EventKind(typeName: name) else { throw r.failure("unknown event kind \(name)") }
            e.counts[k] = try r.int()
        }
        n = try r.count()
        for _ in 0..<n {
            let t = try r.string()
            e.unknownTypes[t] = try r.int()
        }
    }

    // MARK: files

    /// Writes every snapshot file; returns each file's name and size.
    @discardableResult
    public func save(_ engine: ReplayEngine) throws(EventLogError) -> [(name: String, bytes: Int)] {
        try fs.attempt("creating the projections folder", path: directory) { () throws(SystemError) in
            try fs.makeDirectories(directory)
        }
        var written: [(name: String, bytes: Int)] = []
        do {
            try Self.forEachFile(engine) { name, bytes in
                written.append((name, bytes.count))
                let p = path(name)
                try fs.attempt("writing a projection snapshot", path: p) { () throws(SystemError) in
                    try fs.writeFileAtomically(p, bytes, tmpSuffix: Self.uniqueTmpSuffix)
                }
            }
        } catch let e as EventLogError {
            throw e
        } catch {
            throw EventLogError(.io, "writing projection snapshots: \(error)")
        }
        if !engine.dedupe {
            // A stale id file from a multi-origin past would otherwise sit beside a one-origin snapshot.
            let p = path(Self.eventIDsName)
            if (try? fs.stat(p)) != nil { try? fs.unlink(p) }
        }
        return written
    }

    struct Untrusted: Error {
        var reason: String
    }

    /// Decoded snapshots, or why they cannot be used.
    func load(_ reader: StoreReader) -> Result<ReplayEngine, Untrusted> {
        let engine = ReplayEngine()
        let strings = Symbols(capacity: 4096)
        var header: [UInt8]?
        var names = engine.projections.map { (type(of: $0).name, type(of: $0).version) }
        names.append((Self.eventIDsName, 1))
        for (name, version) in names {
            let p = path(name)
            guard let bytes = try? fs.readFile(p) else {
                // The id file exists only for multi-origin folds (it comes last: the header is known by then).
                if name == Self.eventIDsName && !engine.dedupe { continue }
                return .failure(Untrusted(reason: "no snapshot \(p)"))
            }
            do throws(SnapshotReader.Failure) {
                var r = SnapshotReader(bytes)
                guard bytes.count > Self.magic.count + 8, Array(bytes[0..<Self.magic.count]) == Self.magic else {
                    throw r.failure("not a projection snapshot (bad magic)")
                }
                let sum = bytes.withUnsafeBytes {
                    XXH3.hash(UnsafeRawBufferPointer(rebasing: $0[..<(bytes.count - 8)]))
                }
                var tail = SnapshotReader(bytes, from: bytes.count - 8)
                guard try tail.u64() == sum else { throw r.failure("checksum mismatch") }
                r = SnapshotReader(bytes, from: Self.magic.count, to: bytes.count - 8)
                guard try r.varint() == UInt64(Self.formatVersion) else { throw r.failure("snapshot format version") }
                guard try r.string() == name else { throw r.failure("names another projection") }
                guard try r.varint() == UInt64(version) else {
                    throw r.failure("written by another version of the \(name) projection")
                }
                let hn = try r.count()
                let h = try r.raw(hn)
                if let first = header {
                    guard first == h else { throw r.failure("taken at another point of the log than the others") }
                } else {
                    header = h
                    var hr = SnapshotReader(h)
                    try Self.decodeHeader(engine, &hr)
                    guard hr.atEnd else { throw hr.failure("trailing bytes in the header") }
                }
                let bn64 = try r.u64()
                let bodyStart = r.offset
                guard bn64 <= UInt64(bytes.count - 8 - bodyStart) else { throw r.failure("body length past the end") }
                let bn = Int(bn64)
                var br = SnapshotReader(bytes, from: bodyStart, to: bodyStart + bn, cache: strings)
                switch name {
                case QueueProjection.name: engine.queue = try QueueProjection(decoding: &br, symbols: engine.symbols)
                case SessionProjection.name:
                    engine.sessions = try SessionProjection(decoding: &br, symbols: engine.symbols)
                case DecisionProjection.name:
                    engine.decisions = try DecisionProjection(decoding: &br, symbols: engine.symbols)
                case KnowledgeProjection.name:
                    engine.knowledge = try KnowledgeProjection(decoding: &br, symbols: engine.symbols)
                case CostProjection.name: engine.cost = try CostProjection(decoding: &br, symbols: engine.symbols)
                default:
                    guard engine.dedupe else { break }
                    let n = try br.count()
                    engine.seen.reserveCapacity(n)
                    for _ in 0..<n {
                        let high = try br.u64()
                        engine.seen.insert(ID128(low: try br.u64(), high: high))
                    }
                }
                guard br.atEnd else { throw br.failure("trailing bytes in the body") }
            } catch {
                return .failure(Untrusted(reason: "snapshot \(p) \(error)"))
            }
        }
        // Contract 7: trusted only while every origin still holds the record at its position, unchanged (the
        // last event applied is one of them: the newest position of its origin).
        if let l = engine.last, engine.positions[l.origin]?.lsn != l.lsn {
            return .failure(Untrusted(reason: "the snapshot's last event is not at its origin's position"))
        }
        for (o, p) in engine.positions {
            guard let log = reader.log(o), log.headLSN >= p.lsn else {
                return .failure(Untrusted(reason: "origin \(o.hex) is behind the snapshot"))
            }
            guard let e = try? log.event(lsn: p.lsn), e.recordHash == p.recordHash else {
                return .failure(Untrusted(reason: "origin \(o.hex) no longer holds the snapshot's event \(p.lsn)"))
            }
        }
        return .success(engine)
    }
}
