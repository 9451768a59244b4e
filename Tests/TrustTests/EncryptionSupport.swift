import Crypto
import EventLog
import Foundation
import StorageTesting
import Testing

@testable import Trust

let encRoot = "/s/.aibrain"
let encOrigin = OriginID(hex: "0123456789abcdef0123456789abcdef")!

/// A store on the simulated file system; `teams` get a key each.
func encryptedStore(seed: UInt64 = 1, teams: [String] = ["dev"], policies: StoreConfig.Policies = .init())
    throws -> SimulatedFileSystem
{
    let fs = SimulatedFileSystem(seed: seed)
    try EventLog.create(at: encRoot, name: "test", fs: fs, policies: policies, origin: encOrigin)
    let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
    for t in teams { _ = try TeamKeyOperations.add(team: t, files: files, now: 1) }
    return fs
}

func encWriter(_ fs: SimulatedFileSystem, cipher: (any RegionCipher)? = nil, policies: StoreConfig.Policies? = nil)
    throws -> EventLog
{
    try EventLog(
        root: encRoot, fs: fs,
        options: OpenOptions(
            policies: policies, preallocationBytes: 700, cipher: cipher ?? TeamCipher(storeRoot: encRoot, fs: fs)))
}

/// A read-only log with `cipher` (nil: no keys at all).
func encReader(_ fs: SimulatedFileSystem, cipher: (any RegionCipher)?) throws -> EventLog {
    try EventLog(root: encRoot, fs: fs, options: OpenOptions(readOnly: true, cipher: cipher ?? NoKeys()))
}

/// A cipher that holds no key (what a reader without `.aibrain/keys/` is).
struct NoKeys: RegionCipher {
    func currentGeneration() -> UInt32? { nil }
    func encrypt(_ plaintext: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]) -> Bool {
        false
    }
    func decrypt(
        keyID: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
        tag: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]
    ) -> RegionDecryption { .noKey }
}

/// A cipher that claims every key id and decrypts with a key of its own: the wrong key in the right slot.
struct WrongKeyInTheRightSlot: RegionCipher {
    let key = SymmetricKey(size: .bits256)
    func currentGeneration() -> UInt32? { nil }
    func encrypt(_ plaintext: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]) -> Bool {
        false
    }
    func decrypt(
        keyID: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
        tag: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]
    ) -> RegionDecryption {
        guard
            let box = try? ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: ciphertext, tag: tag),
            let plain = try? ChaChaPoly.open(box, using: key, authenticating: context.associatedData)
        else { return .authenticationFailed }
        out += plain
        return .decrypted
    }
}

func encDraft(
    _ id: String, team: String, stream: String = "task/T-1", payload: String? = nil, type: String = "test.event"
) -> EventDraft {
    EventDraft(
        eventID: id, type: type, stream: stream, actor: "claude-dev-1", team: team,
        payload: Array((payload ?? #"{"secret":"\#(id)-\#(team)-plaintext"}"#).utf8))
}

func encEvents(_ log: EventLog) throws -> [Event] {
    var out: [Event] = []
    try log.read {
        out.append($0)
        return true
    }
    return out
}

func encSegmentFiles(_ fs: SimulatedFileSystem, sealed: Bool? = nil) throws -> [String] {
    let dir = encRoot + "/log/" + encOrigin.hex
    return try fs.listDirectory(dir).filter { n in
        guard let p = SegmentName.parse(n) else { return false }
        return sealed.map { $0 == p.sealed } ?? true
    }.sorted().map { dir + "/" + $0 }
}

func bytesContain(_ haystack: [UInt8], _ needle: String) -> Bool {
    let n = Array(needle.utf8)
    guard n.count <= haystack.count else { return false }
    for i in 0...(haystack.count - n.count) where haystack[i] == n[0] && Array(haystack[i..<i + n.count]) == n {
        return true
    }
    return false
}
