import EventLog
import Foundation

/// The lexical index of every knowledge object's title, tags and body (terms by `KOText`), with per-field term
/// frequencies, so that both plain BM25 (the fields concatenated) and the field-weighted arm of the hybrid
/// ranking come from one index. Derived data: built from the knowledge projection at a `textStamp`, kept in
/// `.aibrain/projections/ko-search.idx` (layout: schemas/FORMAT.md, "Knowledge search index") and rebuilt
/// whenever the stamp differs or the file does not check.
///
/// The index is its bytes: fixed-width document and term tables, a string area and the postings, queried in
/// place (the file mapped read-only where the file system maps), so a query costs the checksum and the
/// postings of its own terms, not a decode of every term of every KO.
public final class KOSearchIndex: KnowledgeFile {
    public static let magic = Array("AIBKOIX1".utf8)
    /// 2: each term's postings carry their byte length; 3: fixed-width tables queried in place.
    public static let version: UInt16 = 3
    static let headerSize = 8 + 2 + 2 + 4 + 4 + 8 + 3 * 8 + 8 + 8
    static let documentEntry = 28
    static let termEntry = 20

    struct Posting {
        var doc: Int32
        var title: UInt16
        var tags: UInt16
        var body: UInt16
    }

    public let stamp: UInt64
    public let documentCount: Int
    public let termCount: Int
    /// Terms in all titles, all tags and all bodies (the average document length of BM25).
    let totals: (title: Double, tags: Double, body: Double)
    /// KOs whose body could not be read while building: the index is used but not written (the next
    /// search tries again).
    public private(set) var incomplete: [String] = []
    static let noun = "index"
    static let kind = "knowledge search index"
    static let unreadablePart = "the body"

    /// Keeps `bytes` alive: the file's mapping, or memory of this process.
    let keeper: MappedFile
    /// The whole file, checksum included.
    private let bytes: UnsafeRawBufferPointer
    private let documentsAt: Int
    private let termsAt: Int
    private let stringsAt: Int
    private let stringsCount: Int
    private let postingsAt: Int
    private let postingsCount: Int

    public typealias Damaged = KnowledgeFileDamaged
    public typealias TooLarge = KnowledgeFileTooLarge

    // MARK: - Building

    /// Indexes every KO that has a title (status and filters are applied at query time). `body` gives a KO's
    /// body (by default the one in memory; the CLI reads it from the log after a snapshot load).
    /// Throws when the tables would outgrow their 32-bit offsets (4 GiB of ids, terms or postings).
    public convenience init(knowledge: KnowledgeProjection, body: (KnowledgeObject) -> String? = { $0.body })
        throws(TooLarge)
    {
        var incomplete: [String] = []
        let bytes = try Self.build(knowledge: knowledge, body: body, incomplete: &incomplete)
        do throws(Damaged) {
            try self.init(inMemory(bytes))
        } catch {
            // Written by `build` a moment ago: it checks, or `build` has a bug.
            preconditionFailure("a freshly built search index does not check: \(error.reason)")
        }
        self.incomplete = incomplete
    }

    /// The file's bytes for `knowledge` (layout: schemas/FORMAT.md, "Knowledge search index").
    static func build(
        knowledge: KnowledgeProjection, body: (KnowledgeObject) -> String?, incomplete: inout [String]
    ) throws(TooLarge) -> [UInt8] {
        func fit(_ v: Int, _ what: String) throws(TooLarge) -> UInt32 {
            guard let x = UInt32(exactly: v) else {
                throw TooLarge(description: "the knowledge search index: its \(what) would outgrow a 32-bit field")
            }
            return x
        }
        // Documents are numbered in UTF-8 order of their ids: equal scores break ties by document number.
        let kos = knowledge.kos.values.filter { !$0.title.isEmpty }.sorted { utf8Less($0.id, $1.id) }
        guard kos.count < Int(Int32.max) else {
            throw TooLarge(description: "the knowledge search index: it holds at most \(Int32.max) KOs")
        }
        var stems: [[UInt8]: String]? = [:]
        var termIDs: [String: Int] = [:]
        var postings: [[Posting]] = []
        var lengths: [(UInt32, UInt32, UInt32)] = []
        var totals: (UInt64, UInt64, UInt64) = (0, 0, 0)
        for (doc, k) in kos.enumerated() {
            var counts: [Int: (UInt16, UInt16, UInt16)] = [:]
            func add(_ list: [String], _ field: Int) {
                for t in list {
                    let id: Int
                    if let have = termIDs[t] {
                        id = have
                    } else {
                        id = postings.count
                        termIDs[t] = id
                        postings.append([])
                    }
                    var c = counts[id] ?? (0, 0, 0)
                    switch field {
                    case 0: c.0 &+= c.0 < .max ? 1 : 0
                    case 1: c.1 &+= c.1 < .max ? 1 : 0
                    default: c.2 &+= c.2 < .max ? 1 : 0
                    }
                    counts[id] = c
                }
            }
            let title = KOText.terms(k.title, stems: &stems)
            let tags = k.tags.flatMap { KOText.terms($0.replacingOccurrences(of: "-", with: " "), stems: &stems) }
            let text = body(k)
            if text == nil { incomplete.append(k.id) }
            let body = KOText.terms(text ?? "", stems: &stems)
            add(title, 0)
            add(tags, 1)
            add(body, 2)
            lengths.append(
                (
                    try fit(title.count, "terms of a title"), try fit(tags.count, "terms of tags"),
                    try fit(body.count, "terms of a body")
                ))
            totals.0 += UInt64(title.count)
            totals.1 += UInt64(tags.count)
            totals.2 += UInt64(body.count)
            // Each term's postings grow in document order whatever order its terms come in.
            for (term, c) in counts {
                postings[term].append(Posting(doc: Int32(doc), title: c.0, tags: c.1, body: c.2))
            }
        }
        var strings: [UInt8] = []
        var documents = SnapshotWriter()
        for (doc, k) in kos.enumerated() {
            let id = Array(k.id.utf8)
            documents.u32(try fit(strings.count, "string area"))
            documents.u32(try fit(id.count, "id"))
            documents.u32(lengths[doc].0)
            documents.u32(lengths[doc].1)
            documents.u32(lengths[doc].2)
            strings += id
            // The filter fields, so that a filter rejects a document without decoding its KO.
            var filter = SnapshotWriter()
            let tags = k.tags.map { $0.lowercased() }
            filter.u8(k.status.rawValue)
            filter.u8((tags + k.projects).allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } } ? 1 : 0)
            filter.strings(tags)
            filter.strings(k.projects)
            documents.u32(try fit(strings.count, "string area"))
            documents.u32(try fit(filter.bytes.count, "filter"))
            strings += filter.bytes
        }
        var terms = SnapshotWriter()
        var area = SnapshotWriter()
        for (t, id) in termIDs.sorted(by: { utf8Less($0.key, $1.key) }) {
            let text = Array(t.utf8)
            let start = area.bytes.count
            var last: Int32 = 0
            for x in postings[id] {
                area.varint(UInt64(x.doc - last))
                last = x.doc
                area.varint(UInt64(x.title))
                area.varint(UInt64(x.tags))
                area.varint(UInt64(x.body))
            }
            terms.u32(try fit(strings.count, "string area"))
            terms.u32(try fit(text.count, "term"))
            terms.u32(try fit(start, "postings area"))
            terms.u32(try fit(postings[id].count, "postings of a term"))
            terms.u32(try fit(area.bytes.count - start, "postings of a term"))
            strings += text
        }
        var w = SnapshotWriter()
        w.raw(magic)
        w.u16(version)
        w.u16(0)
        w.u32(try fit(kos.count, "document table"))
        w.u32(try fit(termIDs.count, "term table"))
        w.u64(knowledge.textStamp)
        w.u64(totals.0)
        w.u64(totals.1)
        w.u64(totals.2)
        w.u64(UInt64(strings.count))
        w.u64(UInt64(area.bytes.count))
        w.raw(documents.bytes)
        w.raw(terms.bytes)
        w.raw(strings)
        w.raw(area.bytes)
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    // MARK: - Reading

    /// Checks the magic, version, checksum and that every table fits the file; term and document entries are
    /// checked against their areas when read (a crafted file with a good checksum never traps).
    init(_ keeper: MappedFile) throws(Damaged) {
        self.keeper = keeper
        let bytes = keeper.bytes
        self.bytes = bytes
        func u32(_ at: Int) -> UInt32 { bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
        func u64(_ at: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        let n = bytes.count
        func damaged(_ reason: String) -> Damaged { Damaged(reason: reason) }
        try Self.checkFrame(bytes)
        documentCount = Int(u32(12))
        termCount = Int(u32(16))
        guard documentCount < Int(Int32.max) else { throw damaged("\(documentCount) documents: at most \(Int32.max)") }
        stamp = u64(20)
        totals = (Double(u64(28)), Double(u64(36)), Double(u64(44)))
        let strings = u64(52)
        let postings = u64(60)
        documentsAt = Self.headerSize
        termsAt = documentsAt + documentCount * Self.documentEntry
        stringsAt = termsAt + termCount * Self.termEntry
        guard strings <= UInt64(n), postings <= UInt64(n),
            stringsAt + Int(strings) + Int(postings) == n - 8
        else {
            throw damaged("tables (\(documentCount) documents, \(termCount) terms) do not fit the file's \(n) bytes")
        }
        stringsCount = Int(strings)
        postingsAt = stringsAt + stringsCount
        postingsCount = Int(postings)
    }

    private func u32(_ at: Int) -> Int {
        Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
    }

    /// A string of the string area, nil when the entry points outside it.
    private func string(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        guard offset <= stringsCount, count <= stringsCount - offset else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[(stringsAt + offset)..<(stringsAt + offset + count)])
    }

    /// The KO id of document `doc` ("" for an entry outside the string area).
    public func id(_ doc: Int32) -> String {
        guard doc >= 0, Int(doc) < documentCount else { return "" }
        let at = documentsAt + Int(doc) * Self.documentEntry
        return string(u32(at), u32(at + 4)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Terms per field of document `doc`.
    func lengths(_ doc: Int32) -> (title: Double, tags: Double, body: Double) {
        guard doc >= 0, Int(doc) < documentCount else { return (0, 0, 0) }
        let at = documentsAt + Int(doc) * Self.documentEntry
        return (Double(u32(at + 8)), Double(u32(at + 12)), Double(u32(at + 16)))
    }

    /// The varint at `offset` of `bytes` (`offset` moves past it), nil when it runs to `end` or past 10 bytes.
    @inline(__always)
    static func varint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, end: Int) -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end, shift < 64 {
            let b = bytes[offset]
            offset += 1
            v |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }

    /// False only when document `doc` surely fails the filters, read from the index without decoding the KO:
    /// its status is not `approved` (or `proposed`, with `drafts`), or — where every tag and project involved
    /// is ASCII, so that bytes compare as Swift strings do — it lacks a `wanted` tag (lowercased), or lists
    /// projects but not `project`. The KO itself is checked for every document this lets through.
    func mayPass(_ doc: Int32, drafts: Bool, wanted: [[UInt8]], project: [UInt8]?) -> Bool {
        guard doc >= 0, Int(doc) < documentCount else { return false }
        let at = documentsAt + Int(doc) * Self.documentEntry
        guard let f = string(u32(at + 20), u32(at + 24)), f.count >= 2 else { return true }
        switch KOStatus(rawValue: f[0]) {
        case .approved: break
        case .proposed: if !drafts { return false }
        default: return false
        }
        let ascii = f[1] == 1
        var offset = 2
        func count() -> Int? {
            guard let v = Self.varint(f, &offset, end: f.count), v <= UInt64(f.count) else { return nil }
            return Int(v)
        }
        func list() -> [UnsafeRawBufferPointer]? {
            guard let n = count() else { return nil }
            var out: [UnsafeRawBufferPointer] = []
            for _ in 0..<n {
                guard let l = count(), l <= f.count - offset else { return nil }
                out.append(UnsafeRawBufferPointer(rebasing: f[offset..<(offset + l)]))
                offset += l
            }
            return out
        }
        guard ascii, let tags = list(), let projects = list() else { return true }
        for w in wanted where w.allSatisfy({ $0 < 0x80 }) {
            if !tags.contains(where: { $0.elementsEqual(w) }) { return false }
        }
        if let p = project, p.allSatisfy({ $0 < 0x80 }), !projects.isEmpty,
            !projects.contains(where: { $0.elementsEqual(p) })
        {
            return false
        }
        return true
    }

    /// The entry of `term` in the term table (binary search in UTF-8 byte order), nil when absent.
    func find(_ term: String) -> Int? {
        var key = term
        return key.withUTF8 { k -> Int? in
            var low = 0
            var high = termCount
            while low < high {
                let mid = (low + high) / 2
                let at = termsAt + mid * Self.termEntry
                guard let t = string(u32(at), u32(at + 4)) else { return nil }
                let common = min(t.count, k.count)
                var order = common == 0 ? 0 : memcmp(t.baseAddress!, k.baseAddress!, common)
                if order == 0 { order = t.count < k.count ? -1 : (t.count > k.count ? 1 : 0) }
                if order == 0 { return mid }
                if order < 0 { low = mid + 1 } else { high = mid }
            }
            return nil
        }
    }

    /// The postings of term entry `entry`, decoded from the postings area; decoding stops at the first
    /// posting that does not check (past its bytes, or a document out of range).
    func list(_ entry: Int) -> [Posting] {
        let at = termsAt + entry * Self.termEntry
        let (start, count, length) = (u32(at + 8), u32(at + 12), u32(at + 16))
        guard start <= postingsCount, length <= postingsCount - start else { return [] }
        var offset = postingsAt + start
        let end = offset + length
        func varint() -> UInt64? { Self.varint(bytes, &offset, end: end) }
        var out: [Posting] = []
        out.reserveCapacity(min(count, length / 4))
        var doc: UInt64 = 0
        for _ in 0..<count {
            guard let delta = varint(), let t = varint(), let g = varint(), let b = varint() else { break }
            let (sum, overflow) = doc.addingReportingOverflow(delta)
            guard !overflow, sum < UInt64(documentCount) else { break }
            doc = sum
            out.append(
                Posting(
                    doc: Int32(doc), title: UInt16(clamping: t), tags: UInt16(clamping: g), body: UInt16(clamping: b)))
        }
        return out
    }

    /// The index for `knowledge` (`KnowledgeFile.load`).
    public static func load(
        path: String, fs: any FileSystem, knowledge: KnowledgeProjection, write: Bool,
        body: (KnowledgeObject) -> String? = { $0.body }
    ) throws(TooLarge) -> (index: KOSearchIndex, rebuiltBecause: String?) {
        try load(path: path, fs: fs, stamp: knowledge.textStamp, write: write) { () throws(TooLarge) in
            try KOSearchIndex(knowledge: knowledge, body: body)
        }
    }

    // MARK: - Scoring

    /// BM25 parameters and the field weights of the hybrid's lexical arm.
    public struct BM25: Sendable {
        public var k1 = 1.2
        public var b = 0.75
        public var titleWeight = 1.0
        public var tagsWeight = 1.0
        public var bodyWeight = 1.0
        public init() {}
        /// Title, tags and body as one field (the default, and the evaluation's baseline). Other field weights
        /// make it BM25F with one length normalization; on fixtures/ko-eval title and tags × 2 measured worse.
        public static let plain = BM25()
    }

    /// BM25 scores (> 0) by document, for the distinct terms of `query`.
    func bm25(_ query: [String], _ p: BM25) -> [Int32: Double] {
        let n = Double(documentCount)
        guard n > 0 else { return [:] }
        let total = p.titleWeight * totals.title + p.tagsWeight * totals.tags + p.bodyWeight * totals.body
        let avg = max(total / n, 1e-9)
        var scores: [Int32: Double] = [:]
        for t in Set(query) {
            guard let entry = find(t) else { continue }
            let list = self.list(entry)
            let df = Double(list.count)
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            for post in list {
                let l = lengths(post.doc)
                let dl = p.titleWeight * l.title + p.tagsWeight * l.tags + p.bodyWeight * l.body
                let tf =
                    p.titleWeight * Double(post.title) + p.tagsWeight * Double(post.tags) + p.bodyWeight
                    * Double(post.body)
                guard tf > 0 else { continue }
                scores[post.doc, default: 0] += idf * tf * (p.k1 + 1) / (tf + p.k1 * (1 - p.b + p.b * dl / avg))
            }
        }
        return scores
    }

    /// Distinct query terms found among each document's tags.
    func tagMatches(_ query: [String]) -> [Int32: Int] {
        var m: [Int32: Int] = [:]
        for t in Set(query) {
            guard let entry = find(t) else { continue }
            for post in list(entry) where post.tags > 0 { m[post.doc, default: 0] += 1 }
        }
        return m
    }
}

/// One query of `ko search`.
public struct KOQuery: Sendable {
    public var text: String
    /// Every one of these tags must be on the KO.
    public var tags: [String] = []
    /// The KO must list this project, or no project at all (a lesson for every project).
    public var project: String?
    public var limit = 10
    /// Half-life of the age decay in days (0: no decay).
    public var halfLifeDays = 180.0
    /// The instant ages are measured at (Unix ms).
    public var nowMS: Int64
    /// The query's embedding and its model (the semantic arm runs only with both, against KOs embedded by the
    /// same model with the same dimension).
    public var vector: [Float]?
    public var model: String?
    public var includeDrafts = false
    /// The lexical arm's BM25 (field weights).
    public var bm25 = KOSearchIndex.BM25.plain
    /// Reciprocal rank fusion: weight per arm and the rank constant (Cormack et al. 2009; Elasticsearch's 60).
    /// The tag arm is off by default: tags act as a filter (`tags`); as a fused arm (weight 0.5, even 0.1) it
    /// lowered MRR on fixtures/ko-eval from 0.928 to 0.85 (Benchmarks/RESULTS.md, "Knowledge search").
    public var lexicalWeight = 1.0
    public var semanticWeight = 1.0
    public var tagWeight = 0.0
    public var rankConstant = 60.0
    /// How many of its best eligible documents each arm ranks.
    public var rankWindow = 100
    /// A lexical candidate needs at least this share of the best BM25 score (the multiplicative effectiveness
    /// and decay must not lift a KO that matched a stray word above a real match: rank fusion keeps only ranks,
    /// whose scores differ by 2% from one rank to the next).
    public var minRelativeLexical = 0.25
    /// Candidates need a lexical hit or at least this cosine similarity.
    public var minSimilarity = 0.2

    public init(text: String, nowMS: Int64) {
        self.text = text
        self.nowMS = nowMS
    }
}

/// One result with every signal's contribution (`--explain`).
public struct KOHit: Sendable {
    public struct Arm: Sendable {
        public var rank: Int
        /// BM25 score, cosine similarity, or matched tag terms.
        public var value: Double
        /// weight / (rank constant + rank).
        public var contribution: Double
    }
    public var id: String
    public var title: String
    public var lexical: Arm?
    public var semantic: Arm?
    public var tag: Arm?
    public var fused: Double
    public var effectiveness: Double
    public var ageDays: Double
    public var decay: Double
    public var score: Double
}

public enum KOSearch {
    /// Hybrid retrieval: filters (status, tags, project), then the lexical arm (BM25), the semantic arm and (when
    /// weighted) the tag arm fused by weighted reciprocal rank fusion, times the smoothed effectiveness
    /// (s+1)/(c+2), times 2^(−age/half-life). Superseded and retired KOs, and drafts unless asked, are dropped.
    /// `vectors` (the semantic arm's embeddings, numbered like `index`) is built from `knowledge` when not given.
    public static func search(
        _ q: KOQuery, index: KOSearchIndex, knowledge: KnowledgeProjection, vectors: KOVectorIndex? = nil
    ) -> [KOHit] {
        let terms = KOText.terms(q.text)
        let wanted = q.tags.map { $0.lowercased() }
        // Filters are applied to the documents an arm scores, not to all of them (a query touches few).
        var checked: [Int32: KnowledgeObject?] = [:]
        let wantedBytes = wanted.map { Array($0.utf8) }
        let projectBytes = q.project.map { Array($0.utf8) }
        func eligible(_ doc: Int32) -> KnowledgeObject? {
            if let c = checked[doc] { return c }
            var result: KnowledgeObject?
            if index.mayPass(doc, drafts: q.includeDrafts, wanted: wantedBytes, project: projectBytes),
                let k = knowledge.ko(index.id(doc)),
                passes(k, drafts: q.includeDrafts, wanted: wanted, project: q.project)
            {
                result = k
            }
            checked[doc] = result
            return result
        }
        // Each arm ranks its best `rankWindow` eligible documents (Elasticsearch's rank_window_size): a document
        // below that in every arm could not reach the results, and the filters run only on those looked at.
        let window = max(q.rankWindow, q.limit)
        func ranks(_ scores: [Int32: Double], tieBreak: [Int32: Double] = [:]) -> [Int32: (Int, Double)] {
            let sorted = scores.sorted {
                if $0.value != $1.value { return $0.value > $1.value }
                let a = tieBreak[$0.key] ?? 0
                let b = tieBreak[$1.key] ?? 0
                if a != b { return a > b }
                return $0.key < $1.key  // documents are numbered in id order
            }
            var out: [Int32: (Int, Double)] = [:]
            for e in sorted where eligible(e.key) != nil {
                out[e.key] = (out.count + 1, e.value)
                if out.count >= window { break }
            }
            return out
        }
        let lexicalScores = index.bm25(terms, q.bm25)
        var lexical = ranks(lexicalScores)
        // The gate is relative to the best eligible match (the rank-1 document after the filters).
        if let best = lexical.values.first(where: { $0.0 == 1 })?.1, q.minRelativeLexical > 0 {
            lexical = lexical.filter { $0.value.1 >= q.minRelativeLexical * best }
        }
        // An arm of weight 0 adds nothing: not ranked (its candidates would join the results at score 0).
        if q.lexicalWeight <= 0 { lexical = [:] }
        let tag =
            q.tagWeight > 0 ? ranks(index.tagMatches(terms).mapValues(Double.init), tieBreak: lexicalScores) : [:]
        var semantic: [Int32: (Int, Double)] = [:]
        if let v = q.vector, let model = q.model, !v.isEmpty, q.semanticWeight > 0 {
            // Cosines straight from the vector file; the filters run only on the documents ranked.
            var sims: [Int32: Double] = [:]
            // Document numbers must mean the same KOs: the same stamp and count, else built here (from the
            // vectors in memory: a caller whose projection came from a snapshot passes its own).
            func matches(_ v: KOVectorIndex) -> Bool {
                v.stamp == index.stamp && v.documentCount == index.documentCount
            }
            let current = vectors.flatMap { matches($0) ? $0 : nil }
            if let vi = current ?? (try? KOVectorIndex(knowledge: knowledge)).flatMap({ matches($0) ? $0 : nil }) {
                for (doc, c) in vi.similarities(v, model: model) where c >= q.minSimilarity { sims[doc] = c }
            }
            semantic = ranks(sims)
        }
        var hits: [KOHit] = []
        for doc in Set(lexical.keys).union(semantic.keys) {
            guard let k = eligible(doc) else { continue }
            func arm(_ m: [Int32: (Int, Double)], _ w: Double) -> KOHit.Arm? {
                guard let (r, v) = m[doc], w > 0 else { return nil }
                return KOHit.Arm(rank: r, value: v, contribution: w / (q.rankConstant + Double(r)))
            }
            let l = arm(lexical, q.lexicalWeight)
            let s = arm(semantic, q.semanticWeight)
            let t = arm(tag, q.tagWeight)
            let fused = (l?.contribution ?? 0) + (s?.contribution ?? 0) + (t?.contribution ?? 0)
            let age = max(0, Double(q.nowMS - k.createdMS) / 86_400_000)
            let decay = q.halfLifeDays > 0 ? pow(2, -age / q.halfLifeDays) : 1
            hits.append(
                KOHit(
                    id: k.id, title: k.title, lexical: l, semantic: s, tag: t, fused: fused,
                    effectiveness: k.effectiveness, ageDays: age, decay: decay, score: fused * k.effectiveness * decay))
        }
        hits.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            return utf8Less($0.id, $1.id)
        }
        return Array(hits.prefix(max(q.limit, 0)))
    }

    /// The filters on one KO: approved (or proposed, with `drafts`), every `wanted` tag (lowercased) among its
    /// tags, and `project` among its projects unless it lists none.
    static func passes(_ k: KnowledgeObject, drafts: Bool, wanted: [String], project: String?) -> Bool {
        switch k.status {
        case .approved: break
        case .proposed: if !drafts { return false }
        default: return false
        }
        if !wanted.isEmpty {
            let have = Set(k.tags.map { $0.lowercased() })
            guard wanted.allSatisfy(have.contains) else { return false }
        }
        if let p = project, !k.projects.isEmpty, !k.projects.contains(p) { return false }
        return true
    }

    /// The evaluation's baselines over approved KOs, best first: plain BM25 (title, tags and body as one field,
    /// k1 1.2, b 0.75), or tags only (KOs with the most query terms among their tags; ties by id).
    public static func baseline(
        _ text: String, plainBM25: Bool, index: KOSearchIndex, knowledge: KnowledgeProjection, tags: [String] = []
    ) -> [String] {
        let terms = KOText.terms(text)
        let scores = plainBM25 ? index.bm25(terms, .plain) : index.tagMatches(terms).mapValues(Double.init)
        let wanted = tags.map { $0.lowercased() }
        return scores.filter { doc, _ in
            knowledge.ko(index.id(doc)).map { passes($0, drafts: false, wanted: wanted, project: nil) } ?? false
        }
        .sorted {
            if $0.value != $1.value { return $0.value > $1.value }
            return $0.key < $1.key  // documents are numbered in id order
        }
        .map { index.id($0.key) }
    }
}
