/// Walks the records of one batch or block: `count` envelopes back to back in `envelopes`, each payload
/// taken in order from its region. Checks that the envelopes exactly fill their region, that every
/// payload region is consumed exactly, and that clocks stay within the declared range.
@inline(__always)
func walkRecords(
    envelopes: UnsafeRawBufferPointer, regions: [UnsafeRawBufferPointer], count: Int, envelopeBase: Int,
    hlcRange: ClosedRange<UInt64>,
    _ body: (Int, EnvelopeView, UnsafeRawBufferPointer) throws -> Void
) throws {
    var offset = 0
    var used = [Int](repeating: 0, count: regions.count)
    for i in 0..<count {
        let env = try EnvelopeView.parse(envelopes, at: offset, base: envelopeBase)
        guard env.region < regions.count else {
            throw DecodeFailure(
                field: "payload region", offset: envelopeBase + offset + 6,
                reason: "index \(env.region) but only \(regions.count) regions")
        }
        let region = regions[env.region]
        let start = used[env.region]
        guard env.payloadLength <= region.count - start else {
            throw DecodeFailure(
                field: "payload length", offset: envelopeBase + offset + 24,
                reason: "runs past its region (\(start) + \(env.payloadLength) > \(region.count))")
        }
        guard hlcRange.contains(env.hlc) else {
            throw DecodeFailure(
                field: "hlc", offset: envelopeBase + offset + 8, reason: "outside the batch's clock range")
        }
        used[env.region] = start + env.payloadLength
        try body(i, env, UnsafeRawBufferPointer(rebasing: region[start..<start + env.payloadLength]))
        offset += env.length
    }
    guard offset == envelopes.count else {
        throw DecodeFailure(
            field: "envelope region", offset: envelopeBase + offset,
            reason: "\(count) envelopes end at \(offset) of \(envelopes.count) bytes")
    }
    for (r, n) in used.enumerated() where n != regions[r].count {
        throw DecodeFailure(
            field: "payload region \(r)", offset: envelopeBase, reason: "\(n) of \(regions[r].count) bytes used")
    }
}
