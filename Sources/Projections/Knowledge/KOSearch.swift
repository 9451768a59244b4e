import EventLog
import Foundation

/// The lexical index of every knowledge object's title, tags and body (terms by `KOText`), with per-field term
/// frequencies, so that both plain BM25 (the fields concatenated) and the field-weighted arm of the hybrid
/// ranking come from one index. Derived data: built from the knowledge projection at a `textStamp`, kept in
/// `.aibrain/projections/ko-search.idx` (layout: schemas/FORMAT.md, "Knowledge search index") and rebuilt
/// whenever the stamp differs or the file does not check.
public final class KOSearchIndex {
    public static let magic = Array("AIBKOIX1".utf8)
    /// 2: each term's postings carry their byte length, so a reader decodes only the query's terms.
    public static let version: UInt16 = 2

    struct Posting {
        var doc: Int32
        var title: UInt16
        var tags: UInt16
        var body: UInt16
    }

    public let stamp: UInt64
    public private(set) var ids: [String] = []
    /// Terms per field of each document.
    var lengths: [(title: Int32, tags: Int32, body: Int32)] = []
    var terms: [String: Int32] = [:]
    /// Built in memory: every term's postings. Read from a file: empty, and `ranges` locate each term's postings
    /// in `file`, decoded on first use (a query touches a handful of terms, not the whole index).
    var postings: [[Posting]] = []
    var ranges: [(start: Int, count: Int)] = []
    var file: [UInt8] = []
    var decoded: [Int32: [Posting]] = [:]

    /// KOs whose body could not be read while building: the index is used but not written (the next
    /// search tries again).
    public private(set) var incomplete: [String] = []

    public var documentCount: Int { ids.count }
    public var termCount: Int { terms.count }

    /// The postings of term `id`.
    func list(_ id: Int32) -> [Posting] {
        if !postings.isEmpty || ranges.isEmpty { return postings[Int(id)] }
        if let have = decoded[id] { return have }
        let (start, count) = ranges[Int(id)]
        var r = SnapshotReader(file, from: start, to: file.count - 8)
        var out: [Posting] = []
        out.reserveCapacity(count)
        var doc: UInt64 = 0
        for _ in 0..<count {
            guard let delta = try? r.varint(), let t = try? r.varint(), let g = try? r.varint(), let b = try? r.varint()
            else { break }
            // The checksum covers the file, but a crafted one can carry any delta: never trap, stop there.
            let (sum, overflow) = doc.addingReportingOverflow(delta)
            guard !overflow, sum < UInt64(ids.count) else { break }
            doc = sum
            out.append(
                Posting(
                    doc: Int32(doc), title: UInt16(clamping: t), tags: UInt16(clamping: g), body: UInt16(clamping: b)))
        }
        decoded[id] = out
        return out
    }

    /// Indexes every KO that has a title (status and filters are applied at query time). `body` gives a KO's
    /// body (by default the one in memory; the CLI reads it from the log after a snapshot load).
    public init(knowledge: KnowledgeProjection, body: (KnowledgeObject) -> String? = { $0.body }) {
        stamp = knowledge.textStamp
        let kos = knowledge.kos.values.filter { !$0.title.isEmpty }.sorted { utf8Less($0.id, $1.id) }
        var stems: [[UInt8]: String]? = [:]
        for k in kos {
            let doc = Int32(ids.count)
            ids.append(k.id)
            var counts: [Int32: (UInt16, UInt16, UInt16)] = [:]
            func add(_ list: [String], _ field: Int) {
                for t in list {
                    let id: Int32
                    if let have = terms[t] {
                        id = have
                    } else {
                        id = Int32(postings.count)
                        terms[t] = id
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
            lengths.append((Int32(title.count), Int32(tags.count), Int32(body.count)))
            for (term, c) in counts.sorted(by: { $0.key < $1.key }) {
                postings[Int(term)].append(Posting(doc: doc, title: c.0, tags: c.1, body: c.2))
            }
        }
    }

    // MARK: - File

    /// magic, version, stamp, then documents (id, three lengths), then terms (text, postings), all varints.
    public func encode() -> [UInt8] {
        var w = SnapshotWriter()
        w.raw(Self.magic)
        w.varint(UInt64(Self.version))
        w.u64(stamp)
        w.varint(UInt64(ids.count))
        for (i, id) in ids.enumerated() {
            w.string(id)
            w.varint(UInt64(lengths[i].title))
            w.varint(UInt64(lengths[i].tags))
            w.varint(UInt64(lengths[i].body))
        }
        let ordered = terms.sorted { utf8Less($0.key, $1.key) }
        w.varint(UInt64(ordered.count))
        for (t, id) in ordered {
            w.string(t)
            let list = self.list(id)
            var p = SnapshotWriter()
            var last: Int32 = 0
            for x in list {
                p.varint(UInt64(x.doc - last))
                last = x.doc
                p.varint(UInt64(x.title))
                p.varint(UInt64(x.tags))
                p.varint(UInt64(x.body))
            }
            w.varint(UInt64(list.count))
            w.varint(UInt64(p.bytes.count))
            w.raw(p.bytes)
        }
        let sum = XXH3.hash(w.bytes)
        w.u64(sum)
        return w.bytes
    }

    public struct Damaged: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public init(decoding bytes: [UInt8]) throws(Damaged) {
        guard bytes.count >= Self.magic.count + 16, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            throw Damaged(reason: "not a knowledge search index (magic)")
        }
        let body = bytes.count - 8
        let sum = bytes[body...].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard XXH3.hash(bytes[..<body]) == sum else { throw Damaged(reason: "checksum mismatch") }
        var r = SnapshotReader(bytes, from: Self.magic.count, to: body)
        /// A length, delta or term frequency: a varint below 2^31 (not a count of bytes that must follow).
        func small(_ r: inout SnapshotReader) throws(SnapshotReader.Failure) -> Int32 {
            let v = try r.varint()
            guard v < UInt64(Int32.max) else { throw r.failure("value \(v) out of range") }
            return Int32(v)
        }
        do throws(SnapshotReader.Failure) {
            guard try r.varint() == UInt64(Self.version) else { throw r.failure("unknown version") }
            stamp = try r.u64()
            let n = try r.count()
            ids.reserveCapacity(n)
            for _ in 0..<n {
                ids.append(try r.string())
                lengths.append((try small(&r), try small(&r), try small(&r)))
            }
            let nt = try r.count()
            terms.reserveCapacity(nt)
            ranges.reserveCapacity(nt)
            for i in 0..<nt {
                terms[try r.string()] = Int32(i)
                let np = try r.count()
                let length = try r.count()
                let start = r.offset
                // Not walked here (the checksum covers them); `list` checks document numbers as it decodes.
                guard np <= length else { throw r.failure("term \(i): \(np) postings in \(length) bytes") }
                try r.skip(length)
                ranges.append((start, np))
            }
            guard r.atEnd else { throw r.failure("bytes after the last term") }
            file = bytes
        } catch {
            throw Damaged(reason: "\(error)")
        }
    }

    /// The index for `knowledge`: read from `path` when its stamp is current, else built (and written there
    /// atomically when `write`; a failed write only costs the next query a rebuild).
    public static func load(
        path: String, fs: any FileSystem, knowledge: KnowledgeProjection, write: Bool,
        body: (KnowledgeObject) -> String? = { $0.body }
    ) -> (index: KOSearchIndex, rebuiltBecause: String?) {
        var why = "no index yet"
        if let bytes = try? fs.readFile(path) {
            do throws(Damaged) {
                let idx = try KOSearchIndex(decoding: bytes)
                if idx.stamp == knowledge.textStamp { return (idx, nil) }
                why = "knowledge objects changed"
            } catch {
                why = "index damaged (\(error.reason))"
            }
        }
        let idx = KOSearchIndex(knowledge: knowledge, body: body)
        if !idx.incomplete.isEmpty {
            return (
                idx,
                why + "; not saved: the body of \(idx.incomplete.prefix(3).joined(separator: ", ")) could not be read"
            )
        }
        if write { try? fs.writeFileAtomically(path, idx.encode()) }
        return (idx, why)
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
        let n = Double(ids.count)
        guard n > 0 else { return [:] }
        var total = 0.0
        for l in lengths {
            total += p.titleWeight * Double(l.title) + p.tagsWeight * Double(l.tags) + p.bodyWeight * Double(l.body)
        }
        let avg = max(total / n, 1e-9)
        var scores: [Int32: Double] = [:]
        for t in Set(query) {
            guard let id = terms[t] else { continue }
            let list = self.list(id)
            let df = Double(list.count)
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            for post in list {
                let l = lengths[Int(post.doc)]
                let dl =
                    p.titleWeight * Double(l.title) + p.tagsWeight * Double(l.tags) + p.bodyWeight * Double(l.body)
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
            guard let id = terms[t] else { continue }
            for post in list(id) where post.tags > 0 { m[post.doc, default: 0] += 1 }
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
    public static func search(_ q: KOQuery, index: KOSearchIndex, knowledge: KnowledgeProjection) -> [KOHit] {
        let terms = KOText.terms(q.text)
        let wanted = q.tags.map { $0.lowercased() }
        // Filters are applied to the documents an arm scores, not to all of them (a query touches few).
        var checked: [Int32: KnowledgeObject?] = [:]
        func eligible(_ doc: Int32) -> KnowledgeObject? {
            if let c = checked[doc] { return c }
            var result: KnowledgeObject?
            if let k = knowledge.ko(index.ids[Int(doc)]) {
                var ok: Bool
                switch k.status {
                case .approved: ok = true
                case .proposed: ok = q.includeDrafts
                default: ok = false
                }
                if ok, !wanted.isEmpty {
                    let have = Set(k.tags.map { $0.lowercased() })
                    ok = wanted.allSatisfy(have.contains)
                }
                if ok, let p = q.project, !k.projects.isEmpty, !k.projects.contains(p) { ok = false }
                result = ok ? k : nil
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
                return utf8Less(index.ids[Int($0.key)], index.ids[Int($1.key)])
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
        let tag = ranks(index.tagMatches(terms).mapValues(Double.init), tieBreak: lexicalScores)
        var semantic: [Int32: (Int, Double)] = [:]
        if let v = q.vector, let model = q.model, !v.isEmpty {
            var sims: [Int32: Double] = [:]
            for doc in 0..<Int32(index.ids.count) {
                guard let k = eligible(doc), k.vectorModel == model, k.vector.count == v.count else { continue }
                let c = cosine(v, k.vector)
                if c >= q.minSimilarity { sims[doc] = c }
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

    /// The evaluation's baselines over approved KOs, best first: plain BM25 (title, tags and body as one field,
    /// k1 1.2, b 0.75), or tags only (KOs with the most query terms among their tags; ties by id).
    public static func baseline(
        _ text: String, plainBM25: Bool, index: KOSearchIndex, knowledge: KnowledgeProjection, tags: [String] = []
    ) -> [String] {
        let terms = KOText.terms(text)
        let scores = plainBM25 ? index.bm25(terms, .plain) : index.tagMatches(terms).mapValues(Double.init)
        let wanted = tags.map { $0.lowercased() }
        return scores.filter { doc, _ in
            guard let k = knowledge.ko(index.ids[Int(doc)]), k.status == .approved else { return false }
            let have = Set(k.tags.map { $0.lowercased() })
            return wanted.allSatisfy(have.contains)
        }
        .sorted {
            if $0.value != $1.value { return $0.value > $1.value }
            return utf8Less(index.ids[Int($0.key)], index.ids[Int($1.key)])
        }
        .map { index.ids[Int($0.key)] }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0
        var na = 0.0
        var nb = 0.0
        for i in 0..<min(a.count, b.count) {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
    }
}
