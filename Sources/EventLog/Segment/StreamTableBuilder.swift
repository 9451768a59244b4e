/// Collects stream/key → LSNs while a segment is sealed or verified, keyed by the XXH3-64 of the name's
/// bytes: a String is made once per distinct name, not once per record.
struct StreamTableBuilder {
    private var byHash: [UInt64: [Int]] = [:]
    private var names: [[UInt8]] = []
    private var lsns: [[UInt64]] = []

    mutating func add(_ name: UnsafeRawBufferPointer, lsn: UInt64) {
        guard !name.isEmpty else { return }
        let h = XXH3.hash(name)
        if let candidates = byHash[h] {
            for c in candidates where names[c].elementsEqual(name) {
                // A name listed twice by one record (possible only in data not written by this engine) counts once.
                if lsns[c].last != lsn { lsns[c].append(lsn) }
                return
            }
        }
        byHash[h, default: []].append(names.count)
        names.append(Array(name))
        lsns.append([lsn])
    }

    /// Adds the stream and every key of an envelope.
    mutating func add(_ view: EnvelopeView, in region: UnsafeRawBufferPointer, lsn: UInt64) {
        add(UnsafeRawBufferPointer(rebasing: region[view.ranges.2]), lsn: lsn)
        for r in view.keyRanges() { add(UnsafeRawBufferPointer(rebasing: region[r]), lsn: lsn) }
    }

    var count: Int { names.count }

    /// The table sorted by name bytes, as the seal footer stores it.
    func table() -> [(name: String, lsns: [UInt64])] {
        names.indices.sorted { names[$0].lexicographicallyPrecedes(names[$1]) }.map {
            (String(decoding: names[$0], as: UTF8.self), lsns[$0])
        }
    }
}
