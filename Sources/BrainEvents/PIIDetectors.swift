/// US Social Security numbers written as `ddd-dd-dddd` or `ddd dd dddd`, not inside a longer run of digits
/// or dashes, with the SSA's never-issued values excluded (area 000, 666, 900–999; group 00; serial 0000):
/// https://www.ssa.gov/employer/randomization.html. Nine bare digits are not flagged (too many ids look
/// like that); the trust layer's context-word detectors cover labelled ones.
public struct SSNDetector: PIIDetector {
    public init() {}
    public var name: String { "ssn" }

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard t.count >= 11 else { return false }
        func digit(_ k: Int) -> Bool { t[k] &- 0x30 < 10 }
        func value(_ k: Int, _ n: Int) -> Int {
            var v = 0
            for j in k..<k + n { v = v * 10 + Int(t[j] &- 0x30) }
            return v
        }
        for s in 0...(t.count - 11) {
            let sep = t[s + 3]
            guard sep == UInt8(ascii: "-") || sep == UInt8(ascii: " "), t[s + 6] == sep else { continue }
            guard digit(s), digit(s + 1), digit(s + 2), digit(s + 4), digit(s + 5) else { continue }
            guard digit(s + 7), digit(s + 8), digit(s + 9), digit(s + 10) else { continue }
            // Word boundaries (like regex \b), and no dash runs: not part of an id, a date or a phone number.
            if s > 0, EmailDetector.isAlnum(t[s - 1]) || t[s - 1] == UInt8(ascii: "-") { continue }
            if s + 11 < t.count, EmailDetector.isAlnum(t[s + 11]) || t[s + 11] == UInt8(ascii: "-") { continue }
            let area = value(s, 3)
            if area == 0 || area == 666 || area >= 900 || value(s + 4, 2) == 0 || value(s + 7, 4) == 0 { continue }
            return true
        }
        return false
    }
}

/// National Provider Identifiers: exactly ten digits between word boundaries (not inside a hex id or a
/// longer number), starting with 1 or 2,
/// whose check digit is the Luhn digit of `80840` followed by the first nine (CMS, "NPI check digit").
public struct NPIDetector: PIIDetector {
    public init() {}
    public var name: String { "npi" }

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var runStart = -1
        var bounded = true  // the run started after a non-alphanumeric byte (or at the start)
        for k in 0...t.count {
            let isDigit = k < t.count && t[k] &- 0x30 < 10
            if isDigit {
                if runStart < 0 {
                    runStart = k
                    bounded = k == 0 || !EmailDetector.isAlnum(t[k - 1])
                }
                continue
            }
            let endBounded = k == t.count || !EmailDetector.isAlnum(t[k])
            if runStart >= 0, bounded, endBounded, k - runStart == 10, Self.isNPI(t, at: runStart) { return true }
            runStart = -1
        }
        return false
    }

    static func isNPI(_ t: UnsafeBufferPointer<UInt8>, at s: Int) -> Bool {
        let first = t[s] &- 0x30
        guard first == 1 || first == 2 else { return false }
        // Luhn over "80840" + the ten digits: double every second digit from the right, check digit excluded.
        let prefix: [Int] = [8, 0, 8, 4, 0]
        var digits = prefix
        for j in s..<s + 10 { digits.append(Int(t[j] &- 0x30)) }
        var sum = 0
        for (n, d) in digits.reversed().enumerated() {
            if n % 2 == 1 {
                let x = d * 2
                sum += x > 9 ? x - 9 : x
            } else {
                sum += d
            }
        }
        return sum % 10 == 0
    }
}

/// Email addresses: `local@domain.tld` with an RFC 5322 dot-atom-ish local part, at least one dot in the
/// domain and a top-level label of two or more letters.
public struct EmailDetector: PIIDetector {
    public init() {}
    public var name: String { "email" }

    static func isLocal(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }
    static func isAlnum(_ b: UInt8) -> Bool { b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 26 }

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        for at in t.indices where t[at] == UInt8(ascii: "@") {
            guard at > 0, Self.isLocal(t[at - 1]) else { continue }
            // Domain: labels of letters, digits and hyphens separated by dots.
            var k = at + 1
            var labels = 0
            var lastLabelLetters = true
            var lastLabelLength = 0
            while k < t.count {
                let start = k
                var letters = true
                while k < t.count, Self.isAlnum(t[k]) || t[k] == UInt8(ascii: "-") {
                    if t[k] &- 0x30 < 10 || t[k] == UInt8(ascii: "-") { letters = false }
                    k += 1
                }
                guard k > start else { break }
                labels += 1
                lastLabelLetters = letters
                lastLabelLength = k - start
                guard k + 1 < t.count, t[k] == UInt8(ascii: "."), Self.isAlnum(t[k + 1]) else { break }
                k += 1
            }
            if labels >= 2 && lastLabelLetters && lastLabelLength >= 2 { return true }
        }
        return false
    }
}
