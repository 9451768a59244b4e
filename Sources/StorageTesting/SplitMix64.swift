/// A tiny, self-contained, seedable pseudo-random generator (SplitMix64, Steele, Lea and Flood,
/// "Fast splittable pseudorandom number generators", OOPSLA 2014; the reference code is Vigna's
/// `splitmix64.c`).
///
/// Why our own: a crash simulation is only useful if a failing seed replays exactly. The global
/// `SystemRandomNumberGenerator` is not seedable, and the algorithm behind `Int.random(in:using:)` is a
/// standard-library detail that may change between toolchains, so every draw the simulator makes goes
/// through the explicit helpers below (`next(below:)`, `nextBool()`, `nextDouble()`), whose arithmetic is
/// fixed here.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (multiply-high reduction, Lemire 2019; the tiny bias is irrelevant here).
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "next(below:) needs a positive bound, got \(bound)")
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A fair coin.
    public mutating func nextBool() -> Bool {
        next() >> 63 == 1
    }

    /// A value in `0.0..<1.0` with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
