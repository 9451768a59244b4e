import EventLog
import Foundation

/// Every knowledge object's latest embedding, for the semantic arm of `ko search`: derived data like
/// `KOSearchIndex`, built at the knowledge projection's `textStamp` (a `ko.embedded` changes it), kept in
/// `.aibrain/projections/ko-vectors.idx` (layout: schemas/FORMAT.md, "Knowledge vector index"), mapped and
/// read in place. Documents are numbered as in `KOSearchIndex` (every KO with a title, in UTF-8 order of its
/// id), so a document number means the same KO in both. The projection's snapshot keeps only a reference to
/// each embedding's event; the file is where the floats live between commands.
public final class KOVectorIndex: KnowledgeFile {
    public static let magic = Array("AIBKOVX1".utf8)
    public static let version: UInt16 = 1
    static let headerSize = 8 + 2 + 2 + 4 + 4 + 4 + 8 + 8 + 8
    static let documentEntry = 16
    static let none = UInt32.max

    public let stamp: UInt64
    public let documentCount: Int
    /// The models, in first-use order; a document's model is an index into this list.
    public let models: [String]
    /// KOs whose embedding could not be read while building: the file is used but not written.
    public private(set) var incomplete: [String] = []

    let keeper: MappedFile
    private let bytes: UnsafeRawBufferPointer
    private let documentsAt: Int
    private let floatsAt: Int
    private let floatsCount: Int

    public typealias TooLarge = KnowledgeFileTooLarge
    static let noun = "vector index"
    static let kind = "knowledge vector index"
    static let unreadablePart = "the embedding"

    // MARK: - Building

    /// `vector` gives a KO's embedding (by default the one in memory; the CLI reads it from its event after a
    /// snapshot load), nil when it cannot be read.
    public convenience init(knowledge: KnowledgeProjection, vector: (KnowledgeObject) -> [Float]? = { $0.vector })
        throws(TooLarge)
    {
        var incomplete: [String] = []
        let bytes = try Self.build(knowledge: knowledge, vector: vector, incomplete: &incomplete)
        do throws(KnowledgeFileDamaged) {
            try self.init(inMemory(bytes))
        } catch {
            preconditionFailure("a freshly built vector index does not check: \(error.reason)")
        }
        self.incomplete = incomplete
    }

    static func build(
        knowledge: KnowledgeProjection, vector: (KnowledgeObject) -> [Float]?, incomplete: inout [String]
    ) throws(TooLarge) -> [UInt8] {
        let kos = knowledge.kos.values.filter { !$0.title.isEmpty }.sorted { utf8Less($0.id, $1.id) }
        guard kos.count < Int(Int32.max) else {
            throw TooLarge(description: "the knowledge vector index holds at most \(Int32.max) KOs")
        }
        var models: [String] = []
        var modelIndex: [String: UInt32] = [:]
        var documents = SnapshotWriter()
        var floats = SnapshotWriter()
        for k in kos {
            var model = Self.none
            var dims = 0
            let at = floats.bytes.count
            if k.vectorDimensions > 0 || !k.vector.isEmpty {
                if let v = vector(k), !v.isEmpty, v.allSatisfy(\.isFinite) {
                    if let m = modelIndex[k.vectorModel] {
                        model = m
                    } else {
                        model = UInt32(models.count)
                        modelIndex[k.vectorModel] = model
                        models.append(k.vectorModel)
                    }
                    dims = v.count
                    for f in v { floats.u32(f.bitPattern) }
                } else {
                    incomplete.append(k.id)
                }
            }
            documents.u32(model)
            documents.u32(UInt32(dims))
            documents.u64(UInt64(at))
        }
        var strings = SnapshotWriter()
        strings.strings(models)
        // The float area starts 4-byte aligned in the file (and so in a page-aligned mapping).
        var w = SnapshotWriter()
        w.raw(magic)
        w.u16(version)
        w.u16(0)
        w.u32(UInt32(kos.count))
        let stringsLength =
            strings.bytes.count + (4 - (headerSize + kos.count * documentEntry + strings.bytes.count) % 4) % 4
        w.u32(UInt32(stringsLength))
        w.u32(0)
        w.u64(knowledge.textStamp)
        w.u64(UInt64(floats.bytes.count))
        w.u64(0)
        w.raw(documents.bytes)
        w.raw(strings.bytes)
        w.raw([UInt8](repeating: 0, count: stringsLength - strings.bytes.count))
        w.raw(floats.bytes)
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    // MARK: - Reading

    init(_ keeper: MappedFile) throws(KnowledgeFileDamaged) {
        self.keeper = keeper
        let bytes = keeper.bytes
        self.bytes = bytes
        func damaged(_ reason: String) -> KnowledgeFileDamaged { KnowledgeFileDamaged(reason: reason) }
        let n = bytes.count
        try Self.checkFrame(bytes)
        func u32(_ at: Int) -> Int { Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian) }
        func u64(_ at: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        documentCount = u32(12)
        guard documentCount < Int(Int32.max) else { throw damaged("\(documentCount) documents: at most \(Int32.max)") }
        let stringsLength = u32(16)
        stamp = u64(24)
        let floats = u64(32)
        documentsAt = Self.headerSize
        let stringsAt = documentsAt + documentCount * Self.documentEntry
        guard floats <= UInt64(n), stringsAt + stringsLength + Int(floats) == n - 8, floats % 4 == 0 else {
            throw damaged("tables (\(documentCount) documents) do not fit the file's \(n) bytes")
        }
        floatsAt = stringsAt + stringsLength
        floatsCount = Int(floats) / 4
        var r = SnapshotReader(Array(bytes[stringsAt..<(stringsAt + stringsLength)]))
        do throws(SnapshotReader.Failure) {
            models = try r.strings()
        } catch {
            throw damaged("model names: \(error)")
        }
    }

    /// The vectors for `knowledge` (`KnowledgeFile.load`).
    public static func load(
        path: String, fs: any FileSystem, knowledge: KnowledgeProjection, write: Bool,
        vector: (KnowledgeObject) -> [Float]? = { $0.vector }
    ) throws(TooLarge) -> (index: KOVectorIndex, rebuiltBecause: String?) {
        try load(path: path, fs: fs, stamp: knowledge.textStamp, write: write) { () throws(TooLarge) in
            try KOVectorIndex(knowledge: knowledge, vector: vector)
        }
    }

    /// Cosine similarity of `query` to every document embedded by `model` with the same dimensions.
    func similarities(_ query: [Float], model: String) -> [(doc: Int32, cosine: Double)] {
        guard let m = models.firstIndex(of: model) else { return [] }
        var qn = 0.0
        for x in query { qn += Double(x) * Double(x) }
        guard qn > 0 else { return [] }
        qn = qn.squareRoot()
        var out: [(Int32, Double)] = []
        for doc in 0..<documentCount {
            let at = documentsAt + doc * Self.documentEntry
            let model = Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
            let dims = Int(bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self).littleEndian)
            let offset = bytes.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self).littleEndian
            guard model == m, dims == query.count, offset % 4 == 0, offset / 4 <= UInt64(floatsCount),
                dims <= floatsCount - Int(offset / 4)
            else { continue }
            let base = floatsAt + Int(offset)
            var dot = 0.0
            var dn = 0.0
            for i in 0..<dims {
                let f = Float(
                    bitPattern: bytes.loadUnaligned(fromByteOffset: base + i * 4, as: UInt32.self).littleEndian)
                dot += Double(query[i]) * Double(f)
                dn += Double(f) * Double(f)
            }
            if dn > 0 { out.append((Int32(doc), dot / (qn * dn.squareRoot()))) }
        }
        return out
    }
}
