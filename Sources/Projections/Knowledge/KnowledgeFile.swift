import EventLog

/// A derived file of the knowledge projection read in place (`KOSearchIndex`, `KOVectorIndex`): built at the
/// projection's `textStamp`, kept in `.aibrain/projections/`, rebuilt whenever the stamp differs or the file
/// does not check, and written only when nothing was missing while building.
protocol KnowledgeFile: AnyObject {
    /// What the file is called in reasons ("index", "vector index").
    static var noun: String { get }
    /// The file's full name in errors ("knowledge search index").
    static var kind: String { get }
    static var magic: [UInt8] { get }
    /// The u16 at byte 8.
    static var version: UInt16 { get }
    static var headerSize: Int { get }
    /// What `incomplete` lists the KOs for ("the body", "the embedding").
    static var unreadablePart: String { get }
    var stamp: UInt64 { get }
    /// KOs whose text could not be read while building: the file is used, not written (the next command
    /// tries again).
    var incomplete: [String] { get }
    /// The file's bytes (its mapping, or memory of this process).
    var keeper: MappedFile { get }
    /// Checks a file's bytes (magic, version, checksum, tables that fit).
    init(_ keeper: MappedFile) throws(KnowledgeFileDamaged)
}

/// A derived knowledge file that does not check (it is rebuilt).
public struct KnowledgeFileDamaged: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// A derived knowledge file that would outgrow its fixed-width fields.
public struct KnowledgeFileTooLarge: Error, CustomStringConvertible {
    public var description: String
}

extension KnowledgeFile {
    /// The file's bytes, as written.
    func encode() -> [UInt8] { Array(keeper.bytes) }

    /// The frame every derived knowledge file shares: magic, u16 version at byte 8, a header, and the XXH3-64 of
    /// every byte before the last 8.
    static func checkFrame(_ bytes: UnsafeRawBufferPointer) throws(KnowledgeFileDamaged) {
        let n = bytes.count
        guard n >= headerSize + 8, Array(bytes[0..<magic.count]) == magic else {
            throw KnowledgeFileDamaged(reason: "not a \(kind) (magic)")
        }
        let v = bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self).littleEndian
        guard v == version else {
            throw KnowledgeFileDamaged(reason: "\(kind) version \(v), this aibrain reads \(version)")
        }
        let sum = bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self).littleEndian
        guard XXH3.hash(UnsafeRawBufferPointer(rebasing: bytes[..<(n - 8)])) == sum else {
            throw KnowledgeFileDamaged(reason: "checksum mismatch")
        }
    }

    /// The file at `path` when its stamp is `stamp`, else `build()`'s (and written there atomically when
    /// `write` and complete; a failed write only costs the next command a rebuild), with why it was rebuilt.
    static func load(
        path: String, fs: any FileSystem, stamp: UInt64, write: Bool, build: () throws(KnowledgeFileTooLarge) -> Self
    ) throws(KnowledgeFileTooLarge) -> (index: Self, rebuiltBecause: String?) {
        var why = "no \(noun) yet"
        if (try? fs.stat(path)) != nil {
            do {
                let file = try Self(mappedFile(path: path, fs: fs))
                if file.stamp == stamp { return (file, nil) }
                why = "knowledge objects changed"
            } catch let e as KnowledgeFileDamaged {
                why = "\(noun) damaged (\(e.reason))"
            } catch {
                why = "\(noun) unreadable (\(error))"
            }
        }
        let file = try build()
        if !file.incomplete.isEmpty {
            let which = file.incomplete.prefix(3).joined(separator: ", ")
            return (file, why + "; not saved: \(unreadablePart) of \(which) could not be read")
        }
        // Two commands may rebuild at once: each writes its own temporary file.
        if write { try? fs.writeFileAtomically(path, file.encode(), tmpSuffix: ProjectionStore.uniqueTmpSuffix) }
        return (file, why)
    }
}

/// The bytes of a derived knowledge file: mapped where the file system maps (such files are only ever replaced
/// by a rename, never truncated, so a mapping keeps its pages), else read into memory.
func mappedFile(path: String, fs: any FileSystem) throws(SystemError) -> MappedFile {
    let fd = try fs.open(path, .readOnly)
    defer { fs.close(fd) }
    let count = Int(try fs.size(fd))
    if let m = fs.mapReadOnly(fd, count: count) { return m }
    return inMemory(try fs.read(fd, count: count, at: 0))
}

/// `bytes` in memory of this process, freed with the file that holds it.
func inMemory(_ bytes: [UInt8]) -> MappedFile {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
    buffer.copyBytes(from: bytes)
    return MappedFile(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<bytes.count])) { _ in buffer.deallocate() }
}
