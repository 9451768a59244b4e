/// `dump` as a library call: the structure of one segment file (header, batches or blocks, seal) and,
/// optionally, its records. Codable, so the CLI can print it as text or JSON.
public struct SegmentDump: Sendable, Codable, Equatable {
    public struct Unit: Sendable, Codable, Equatable {
        /// "batch" (open) or "block" (sealed).
        public var kind: String
        public var offset: Int64
        public var storedBytes: Int
        public var firstLSN: UInt64
        public var count: Int
        public var teams: [String]
    }

    public struct Record: Sendable, Codable, Equatable {
        public var lsn: UInt64
        public var eventID: String
        public var type: String
        public var typeVersion: UInt16
        public var stream: String
        public var keys: [String]
        public var actor: String
        public var team: String
        public var hlc: UInt64
        public var recordedAt: Int64
        public var occurredAt: String
        public var flags: UInt8
        public var payload: String
    }

    public var file: String
    public var kind: String
    public var formatVersion: UInt16
    public var origin: String
    public var epoch: UInt32
    public var segmentID: String
    public var firstLSN: UInt64
    public var codec: UInt8
    public var cipher: UInt8
    public var keyVersion: UInt32
    public var compatibleFeatures: UInt32
    public var incompatibleFeatures: UInt32
    public var units: [Unit] = []
    public var events: UInt64 = 0
    public var sealHash: String?
    public var previousSealHash: String?
    public var logicalHash: String?
    public var fileHash: String?
    public var streams: Int?
    public var tail: String?
    public var records: [Record] = []

    /// Dumps `path`. Sealed segments are fully verified first (a dump never shows unchecked bytes).
    public static func dump(path: String, fs: any FileSystem = PosixFileSystem(), records: Bool = true)
        throws(EventLogError) -> SegmentDump
    {
        let bytes = try fs.attempt("reading", path: path) { () throws(SystemError) in try fs.readFile(path) }
        // `<root>/log/<origin>/<file>`: the store's cipher decrypts what it holds keys for.
        let cipher = DefaultRegionCipher.cipher(
            for: StorePaths(root: directoryName(of: directoryName(of: directoryName(of: path)))), fs: fs)
        let header = try bytes.withBytes { (b) throws(EventLogError) in
            do throws(DecodeFailure) { return try SegmentHeader.decode(b) } catch {
                throw EventLogError.corrupt("\(error.field) \(error.reason)", path: path, offset: Int64(error.offset))
            }
        }
        var d = SegmentDump(
            file: path, kind: header.kind == .sealed ? "sealed" : "open", formatVersion: Format.formatVersion,
            origin: header.origin.hex, epoch: header.epoch, segmentID: hexString(header.segmentID),
            firstLSN: header.firstLSN,
            codec: header.codec.rawValue, cipher: header.cipher, keyVersion: header.keyVersion,
            compatibleFeatures: header.compatibleFeatures, incompatibleFeatures: header.incompatibleFeatures)
        func record(
            _ lsn: UInt64, _ view: EnvelopeView, _ env: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer,
            _ team: String, _ state: PayloadState
        ) {
            guard records else { return }
            let shown: String
            switch state {
            case .plain: shown = String(decoding: payload, as: UTF8.self)
            case .encrypted(let team, _): shown = "[encrypted: team \(team)]"
            case .shredded: shown = "[shredded]"
            }
            let draft = view.draft(in: env, team: team, payload: [])
            d.records.append(
                Record(
                    lsn: lsn, eventID: draft.eventID, type: draft.type, typeVersion: draft.typeVersion,
                    stream: draft.stream,
                    keys: draft.keys, actor: draft.actor, team: team, hlc: view.hlc, recordedAt: view.recordedAt,
                    occurredAt: draft.occurredAt, flags: view.flags, payload: shown))
        }
        if header.kind == .sealed {
            let footer = try SealedSegmentVerifier.verify(bytes, path: path, cipher: cipher)
            let seg = try SealedSegment(fs: fs, path: path)
            d.sealHash = hexString(seg.sealHash)
            d.previousSealHash = hexString(footer.previousSealHash)
            d.logicalHash = hexString(footer.logicalHash)
            d.fileHash = hexString(footer.fileHash)
            d.streams = footer.streams.count
            d.events = footer.eventCount
            let dec = LZ4Frame.Decompressor()
            for (i, b) in footer.blocks.enumerated() {
                let block = try seg.decodeBlock(i, decompressor: dec, cipher: cipher)
                d.units.append(
                    Unit(
                        kind: "block", offset: Int64(b.offset), storedBytes: Int(b.storedLength), firstLSN: b.firstLSN,
                        count: Int(b.count), teams: block.teams))
                for k in 0..<block.count {
                    block.withRecord(k) { view, env, payload in
                        record(
                            block.firstLSN + UInt64(k), view, env, payload, block.teams[Int(block.payloadRegion[k])],
                            block.payloadState(k))
                    }
                }
            }
        } else {
            var units: [Unit] = []
            let scan = try bytes.withBytes { (b) throws(EventLogError) in
                try OpenSegmentScanner.scan(b, path: path, cipher: cipher) { lsn, view, env, payload, team, state in
                    record(lsn, view, env, payload, team, state)
                }
            }
            for ref in scan.batches {
                let teams = bytes.withUnsafeBytes { b -> [String] in
                    if case .batch(let l) = CommitBatch.probe(UnsafeRawBufferPointer(rebasing: b[Int(ref.offset)...])) {
                        return l.teams
                    }
                    return []
                }
                units.append(
                    Unit(
                        kind: "batch", offset: ref.offset, storedBytes: ref.paddedLength, firstLSN: ref.firstLSN,
                        count: ref.count, teams: teams))
            }
            d.units = units
            d.events = scan.batches.reduce(0) { $0 + UInt64($1.count) }
            switch scan.tail {
            case .clean: d.tail = "clean"
            case .torn(let o, let r, let n): d.tail = "torn at offset \(o) (\(n) bytes): \(r)"
            case .corrupt(let o, let r): d.tail = "corrupt at offset \(o): \(r)"
            }
        }
        return d
    }

    /// Human-readable rendering.
    public func text() -> String {
        var s =
            "\(file)\n  \(kind) segment, format \(formatVersion), origin \(origin), epoch \(epoch), first LSN \(firstLSN)\n"
        s +=
            "  segment id \(segmentID), codec \(codec), cipher \(cipher), key version \(keyVersion), features \(compatibleFeatures)/\(incompatibleFeatures)\n"
        s += "  \(events) events in \(units.count) \(kind == "sealed" ? "blocks" : "batches")"
        if let streams { s += ", \(streams) streams/keys" }
        s += "\n"
        if let sealHash {
            s += "  seal hash \(sealHash)\n  previous  \(previousSealHash ?? "")\n  logical   \(logicalHash ?? "")\n"
        }
        if let tail { s += "  tail: \(tail)\n" }
        for u in units {
            s +=
                "  \(u.kind) @\(u.offset) \(u.storedBytes) B: LSN \(u.firstLSN)…\(u.firstLSN + UInt64(u.count) - 1) teams \(u.teams.map { $0.isEmpty ? "-" : $0 })\n"
        }
        for r in records {
            s += "  \(r.lsn) \(r.type) v\(r.typeVersion) id=\(r.eventID) stream=\(r.stream)"
            if !r.actor.isEmpty { s += " actor=\(r.actor)" }
            if !r.team.isEmpty { s += " team=\(r.team)" }
            s += " hlc=\(r.hlc) payload=\(r.payload.prefix(120))\(r.payload.count > 120 ? "…" : "")\n"
        }
        return s
    }
}
