import StorageTesting
import Testing

@testable import EventLog

/// EVENTIDS lookups: a process that makes a few lookups reads one bucket with its neighbours (no
/// directory); one that makes many reads and checks the directory. Both must answer exactly like a
/// brute-force search, and a damaged directory must never make a present id look absent.
struct EventIDIndexTests {
    func index(_ entries: [EventIDIndex.Entry], fs: SimulatedFileSystem) throws -> String {
        let path = "/idx/EVENTIDS"
        try fs.makeDirectories("/idx")
        try fs.writeFileAtomically(
            path, EventIDIndex.encode(entries, coveredSegments: 1, lastSealHash: [UInt8](repeating: 7, count: 32)))
        return path
    }

    func entries(_ n: Int, seed: UInt64) -> [EventIDIndex.Entry] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { i in
            // A few shared hashes (collisions the caller resolves by comparing ids).
            let h = i % 97 == 0 && i > 0 ? UInt64(i - 1) &* 0x9E37_79B9_7F4A_7C15 : rng.next()
            return EventIDIndex.Entry(hash: h, lsn: UInt64(i + 1), epoch: 1)
        }
    }

    func bruteForce(_ all: [EventIDIndex.Entry], _ hash: UInt64) -> [UInt64] {
        all.filter { $0.hash == hash }.map(\.lsn).sorted()
    }

    @Test(arguments: [0, 1, 7, 9, 300, 5000])
    func fewAndManyLookupsAgreeWithBruteForce(_ n: Int) throws {
        let fs = SimulatedFileSystem(seed: 3)
        let all = entries(n, seed: UInt64(n))
        let path = try index(all, fs: fs)
        var rng = SplitMix64(seed: 99)
        let probes = (all.prefix(40).map(\.hash) + (0..<40).map { _ in rng.next() })
        let many = try EventIDIndex(fs: fs, path: path)
        for h in probes {
            // A fresh index per probe: the few-lookups path.
            let few = try EventIDIndex(fs: fs, path: path)
            #expect(try few.candidates(hash: h).map(\.lsn).sorted() == bruteForce(all, h))
            #expect(try many.candidates(hash: h).map(\.lsn).sorted() == bruteForce(all, h))
        }
    }

    @Test func aDamagedDirectoryNeverHidesAPresentID() throws {
        let fs = SimulatedFileSystem(seed: 5)
        let all = entries(3000, seed: 11)
        let path = try index(all, fs: fs)
        let bits = EventIDIndex.bucketBits(for: all.count)
        let sorted = all.sorted()
        for victim in stride(from: 0, to: sorted.count, by: 37) {
            let h = sorted[victim].hash
            let bucket = bits == 0 ? 0 : Int(h >> (64 - bits))
            for delta: Int32 in [-1, 1, 5] {
                var bytes = try fs.readFile(path)
                let at = 64 + bucket * 4 + (delta == 5 ? 4 : 0)
                var word = bytes[at..<at + 4].withUnsafeBytes {
                    UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))
                }
                word = UInt32(bitPattern: Int32(bitPattern: word) &+ (delta == 5 ? -1 : delta))
                withUnsafeBytes(of: word.littleEndian) { bytes.replaceSubrange(at..<at + 4, with: $0) }
                try fs.writeFileAtomically(path, bytes)
                let idx = try EventIDIndex(fs: fs, path: path)
                do {
                    let found = try idx.candidates(hash: h).map(\.lsn)
                    #expect(found.contains(sorted[victim].lsn), "entry \(victim), delta \(delta)")
                } catch {
                    #expect(error.code == .corruption, "a damaged directory is reported as corruption")
                }
                try fs.writeFileAtomically(
                    path,
                    EventIDIndex.encode(all, coveredSegments: 1, lastSealHash: [UInt8](repeating: 7, count: 32)))
            }
        }
    }
}
