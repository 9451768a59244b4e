import Foundation

/// A writer clock tests move by hand (Unix milliseconds), starting at 2026-01-01T00:00:00Z; one instance can
/// drive several stores so their clocks interleave. Pass `function` as `OpenOptions.clock`.
public final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    public init(_ start: Int64 = 1_767_225_600_000) { value = start }

    public var now: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    public func advance(_ ms: Int64) {
        lock.lock()
        value += ms
        lock.unlock()
    }

    public var function: @Sendable () -> Int64 { { [self] in self.now } }
}
