/// `verify` as a library call: every origin's segments, the seal chain, LSN continuity, the open tail,
/// CATALOG and EVENTIDS. Read-only; reports every problem with file, offset/LSN and cause.
public struct VerifyReport: Sendable, Codable, Equatable {
    public struct Problem: Sendable, Codable, Equatable {
        public enum Kind: String, Sendable, Codable {
            /// Damage in data that must be valid: a hard error (exit 5 in the CLI).
            case corruption
            /// A torn tail of an open segment that recovery will cut (no acknowledged data is lost).
            case tornTail = "torn_tail"
            /// Derived data (CATALOG, EVENTIDS) that is stale or damaged and will be rebuilt.
            case derived
            /// An empty `.open` left by an interrupted roll inside its predecessor's events; recovery sets it
            /// aside (R20). Nothing is lost.
            case interruptedRoll = "interrupted_roll"
            /// (`verify --deep`) A record that decodes but breaks a rule our writer enforces: a payload that
            /// is not JSON, an envelope field outside its schema.
            case invalidRecord = "invalid_record"
            /// (`verify --deep`) A payload that does not match its type's JSON Schema (the event catalogue):
            /// an error (exit 1), not corruption — the bytes are what the writer was given.
            case schemaMismatch = "schema_mismatch"
        }
        public var kind: Kind
        public var file: String
        public var offset: Int64?
        public var lsn: UInt64?
        public var message: String
        /// The origin whose `log/<origin-id>/` holds `file`.
        public var origin: String? = nil

        public init(
            kind: Kind, file: String, offset: Int64?, lsn: UInt64?, message: String, origin: String? = nil
        ) {
            self.kind = kind
            self.file = file
            self.offset = offset
            self.lsn = lsn
            self.message = message
            self.origin = origin
        }
    }

    public struct OriginSummary: Sendable, Codable, Equatable {
        public var origin: String
        public var sealedSegments: Int
        public var openSegments: Int
        public var events: UInt64
        public var firstLSN: UInt64?
        public var lastLSN: UInt64?
        public var headSealHash: String?
    }

    /// Sealed segments whose record hashes (logical hash, Merkle root: both over plaintext) were not checked
    /// because they hold encrypted regions of `team` and this verifier has no key for them. Not a problem:
    /// every check over stored bytes ran; `verify` with the team's key checks these too.
    public struct Unchecked: Sendable, Codable, Equatable {
        public var team: String
        public var segments: Int
    }

    public var origins: [OriginSummary] = []
    public var problems: [Problem] = []
    public var unchecked: [Unchecked] = []

    /// One line per team, e.g. `2 segments: record hashes not checked without team dev's key`.
    public var uncheckedSummary: [String] {
        unchecked.map {
            "\($0.segments) segment\($0.segments == 1 ? "" : "s"): record hashes not checked without team \($0.team.isEmpty ? "\"\"" : $0.team)'s key"
        }
    }
    public var ok: Bool { !problems.contains { $0.kind == .corruption || $0.kind == .invalidRecord } }
}

public enum StoreVerifier {
    /// Encrypted regions are decrypted and their tags checked with `cipher` (default: the registered
    /// `DefaultRegionCipher`); without a team's key its regions are checked over their stored bytes only.
    public static func verify(
        root: String, fs: any FileSystem = PosixFileSystem(), cipher: (any RegionCipher)? = nil
    ) throws(EventLogError) -> VerifyReport {
        let paths = StorePaths(root: root)
        let cipher = cipher ?? DefaultRegionCipher.cipher(for: paths, fs: fs)
        var report = VerifyReport()
        let origins = try fs.attempt("listing the log", path: paths.log) { () throws(SystemError) in
            try fs.listDirectory(paths.log)
        }
        // Under the lazy policies a power cut can tear an unsynced batch and keep a later one (R3a).
        let lazy =
            (try? fs.readFile(paths.config)).flatMap { try? StoreConfig.decode($0, path: paths.config) }
            .map { $0.policies.durability != .always } ?? false
        for o in origins where OriginID(hex: o) != nil {
            report = try verifyOrigin(
                paths.log + "/" + o, origin: OriginID(hex: o)!, fs: fs, cipher: cipher, lazyDurability: lazy,
                into: report)
        }
        return report
    }

    static func verifyOrigin(
        _ dir: String, origin: OriginID, fs: any FileSystem, cipher: (any RegionCipher)?, lazyDurability: Bool = false,
        into report: VerifyReport
    ) throws(EventLogError) -> VerifyReport {
        var report = report
        let firstProblem = report.problems.count
        func problem(_ kind: VerifyReport.Problem.Kind, _ file: String, _ e: EventLogError) {
            report.problems.append(.init(kind: kind, file: file, offset: e.offset, lsn: e.lsn, message: e.message))
        }
        let names = try fs.attempt("listing", path: dir) { () throws(SystemError) in try fs.listDirectory(dir) }
        let parsed = names.compactMap { n in SegmentName.parse(n).map { (n, $0) } }.sorted {
            ($0.1.epoch, $0.1.firstLSN, $0.1.sealed ? 0 : 1) < ($1.1.epoch, $1.1.firstLSN, $1.1.sealed ? 0 : 1)
        }
        var summary = VerifyReport.OriginSummary(
            origin: origin.hex, sealedSegments: 0, openSegments: 0, events: 0, firstLSN: nil, lastLSN: nil,
            headSealHash: nil)
        var previousSeal = [UInt8](repeating: 0, count: 32)
        var expectLSN: UInt64?
        var catalog = Catalog()
        var sealedNames: [String] = []
        for (name, p) in parsed where p.sealed {
            let path = dir + "/" + name
            do throws(EventLogError) {
                let bytes = try fs.attempt("reading", path: path) { () throws(SystemError) in try fs.readFile(path) }
                let checked = try SealedSegmentVerifier.check(bytes, path: path, cipher: cipher)
                let footer = checked.footer
                for team in checked.keylessTeams {
                    if let i = report.unchecked.firstIndex(where: { $0.team == team }) {
                        report.unchecked[i].segments += 1
                    } else {
                        report.unchecked.append(.init(team: team, segments: 1))
                    }
                }
                let header = try bytes.withBytes { (b) throws(EventLogError) in
                    do throws(DecodeFailure) { return try SegmentHeader.decode(b) } catch {
                        throw EventLogError.corrupt(error.description, path: path)
                    }
                }
                guard header.origin == origin, header.epoch == p.epoch, header.firstLSN == p.firstLSN else {
                    throw EventLogError.corrupt(
                        "header (origin, epoch, first LSN) does not match the file name and folder", path: path,
                        offset: 28)
                }
                if let expectLSN, footer.firstLSN != expectLSN {
                    throw EventLogError.corrupt(
                        "LSNs jump from \(expectLSN - 1) to \(footer.firstLSN): a segment is missing", path: path,
                        lsn: expectLSN)
                }
                if footer.previousSealHash != previousSeal {
                    throw EventLogError.corrupt(
                        "previous seal hash \(hexString(footer.previousSealHash).prefix(16))… does not match the seal before it (\(hexString(previousSeal).prefix(16))…): the seal chain is broken",
                        path: path, lsn: footer.firstLSN)
                }
                let seg = try SealedSegment(fs: fs, path: path)
                previousSeal = seg.sealHash
                catalog.add(seg)
                sealedNames.append(name)
                expectLSN = footer.lastLSN + 1
                summary.sealedSegments += 1
                summary.events += footer.eventCount
                summary.firstLSN = summary.firstLSN ?? footer.firstLSN
                summary.lastLSN = footer.lastLSN
                summary.headSealHash = hexString(seg.sealHash)
            } catch {
                problem(.corruption, name, error)
                // Continue after a damaged segment: later ones are checked against what they claim.
                if let seg = try? SealedSegment(fs: fs, path: path) {
                    previousSeal = seg.sealHash
                    expectLSN = seg.lastLSN + 1
                } else {
                    expectLSN = nil
                }
            }
        }
        let mark: LockWatermark? = {
            guard let fd = try? fs.open(dir + "/LOCK", .readOnly) else { return nil }
            defer { fs.close(fd) }
            return (try? fs.read(fd, count: LockWatermark.size, at: LockWatermark.offset)).flatMap(LockWatermark.decode)
        }()
        // Only the newest .open (the active one) can end in unsynced batches (R3a).
        let lastOpen = parsed.last { !$0.1.sealed }?.0
        for (name, p) in parsed where !p.sealed {
            let path = dir + "/" + name
            if sealedNames.contains(SegmentName.make(epoch: p.epoch, firstLSN: p.firstLSN, sealed: true)) { continue }
            do throws(EventLogError) {
                let bytes = try fs.attempt("reading", path: path) { () throws(SystemError) in try fs.readFile(path) }
                let scan = try bytes.withBytes { (b) throws(EventLogError) in
                    try OpenSegmentScanner.scan(
                        b, path: path, watermark: mark?.end(forSegment: p.epoch, firstLSN: p.firstLSN), cipher: cipher,
                        lazyDurability: lazyDurability && name == lastOpen
                    ) { _, _, _, _, _, _ in }
                }
                // R20: an empty `.open` inside the events before it, left by an older version's interrupted roll.
                // It holds nothing, and recovery sets it aside; the log goes on where those events end.
                if let expectLSN, scan.header.firstLSN < expectLSN, scan.batches.isEmpty,
                    scan.header.compatibleFeatures & Format.CompatibleFeature.followsFailedSync == 0
                {
                    report.problems.append(
                        .init(
                            kind: .interruptedRoll, file: name, offset: nil, lsn: scan.header.firstLSN,
                            message:
                                "an empty segment starting inside the events before it (LSN \(scan.header.firstLSN) ≤ \(expectLSN - 1)), left by an interrupted roll: nothing is lost; a writer's next open sets it aside"
                        ))
                    continue
                }
                // An empty open segment still says where the log went on: past a gap, segments are missing.
                if let expectLSN, scan.header.firstLSN != expectLSN,
                    !scan.batches.isEmpty || scan.header.firstLSN > expectLSN
                {
                    throw EventLogError.corrupt(
                        "open segment starts at LSN \(scan.header.firstLSN), but the log before it ends at \(expectLSN - 1): segments are missing",
                        path: path, lsn: expectLSN)
                }
                switch scan.tail {
                case .clean: break
                case .torn(let offset, let reason, _):
                    report.problems.append(
                        .init(kind: .tornTail, file: name, offset: offset, lsn: scan.lastLSN + 1, message: reason))
                case .corrupt(let offset, let reason):
                    report.problems.append(
                        .init(kind: .corruption, file: name, offset: offset, lsn: scan.lastLSN + 1, message: reason))
                }
                summary.openSegments += 1
                let n = scan.batches.reduce(UInt64(0)) { $0 + UInt64($1.count) }
                summary.events += n
                if n > 0 {
                    summary.firstLSN = summary.firstLSN ?? scan.header.firstLSN
                    summary.lastLSN = scan.lastLSN
                }
                expectLSN = scan.lastLSN + 1
            } catch {
                problem(.corruption, name, error)
            }
        }
        // Derived files: stale or damaged is not corruption (they are rebuilt on open), but say so.
        if let bytes = try? fs.readFile(dir + "/CATALOG") {
            if let c = try? Catalog.decode(bytes) {
                if c.entries.map(\.fileName) != sealedNames || c != catalog {
                    report.problems.append(
                        .init(
                            kind: .derived, file: "CATALOG", offset: nil, lsn: nil,
                            message: "stale: differs from the seals (rebuilt on next open)"))
                }
            } else {
                report.problems.append(
                    .init(
                        kind: .derived, file: "CATALOG", offset: nil, lsn: nil,
                        message: "damaged (rebuilt on next open)"))
            }
        }
        if (try? fs.stat(dir + "/EVENTIDS")) != nil {
            do throws(EventLogError) {
                let idx = try EventIDIndex(fs: fs, path: dir + "/EVENTIDS")
                try idx.verifyChecksum()
                if idx.coveredSegments != UInt64(sealedNames.count) {
                    report.problems.append(
                        .init(
                            kind: .derived, file: "EVENTIDS", offset: nil, lsn: nil,
                            message:
                                "covers \(idx.coveredSegments) of \(sealedNames.count) sealed segments (rebuilt on next open)"
                        ))
                }
            } catch {
                report.problems.append(
                    .init(kind: .derived, file: "EVENTIDS", offset: nil, lsn: nil, message: error.message))
            }
        }
        report.origins.append(summary)
        for i in firstProblem..<report.problems.count { report.problems[i].origin = origin.hex }
        return report
    }
}
