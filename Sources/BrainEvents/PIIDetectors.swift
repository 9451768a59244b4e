/// The standard detectors. Each is a linear scan over a string's UTF-8 bytes (no regex engine, no
/// allocation) that flags only shapes with a validator: a check digit (NPI, DEA), issuing rules (SSN, MBI,
/// NANP), calendar validity (dates), or a context word (`dob`, `mrn`) next to the value. The shapes and
/// rules follow `../shared/research/audit-security.md` §5.3 (Presidio's recognizers as the model).

/// ASCII byte classes shared by the detectors (bytes, not Characters: the gate reads UTF-8 as it is).
enum PIIBytes {
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
    static func isLower(_ b: UInt8) -> Bool { b &- 0x61 < 26 }
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
    static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
    static func lower(_ b: UInt8) -> UInt8 { isUpper(b) ? b | 0x20 : b }

    /// Whether `word` (lowercase ASCII) is at `i`, case-insensitively; returns the index after it.
    static func word(_ t: UnsafeBufferPointer<UInt8>, _ i: Int, _ word: StaticString) -> Int? {
        let n = word.utf8CodeUnitCount
        guard i + n <= t.count else { return nil }
        let w = word.utf8Start
        for k in 0..<n where lower(t[i + k]) != w[k] { return nil }
        return i + n
    }

    /// The index after the word at `j` if it is one of `words` (lowercase; matched in any case), else nil.
    static func filler(_ t: UnsafeBufferPointer<UInt8>, _ j: Int, _ words: [StaticString]) -> Int? {
        var e = j
        while e < t.count, isLetter(t[e]) { e += 1 }
        if e < t.count, isDigit(t[e]) { return nil }
        for w in words where w.utf8CodeUnitCount == e - j && word(t, j, w) != nil { return e }
        return nil
    }

    /// The value and length of the run of at most `max` digits at `i` (length 0 when `t[i]` is no digit).
    static func number(_ t: UnsafeBufferPointer<UInt8>, _ i: Int, max: Int) -> (value: Int, length: Int) {
        var v = 0
        var k = i
        while k < t.count, k - i < max, isDigit(t[k]) {
            v = v * 10 + Int(t[k] &- 0x30)
            k += 1
        }
        return (v, k - i)
    }
}

/// US Social Security numbers written as `ddd-dd-dddd` or `ddd dd dddd`, not inside a longer run of digits
/// or dashes, with the SSA's never-issued values excluded (area 000, 666, 900–999; group 00; serial 0000):
/// https://www.ssa.gov/employer/randomization.html. Nine bare digits are not flagged (too many ids look
/// like that).
public struct SSNDetector: PIIDetector {
    public init() {}
    public var name: String { "ssn" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 9) }

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
            if s > 0, PIIBytes.isAlnum(t[s - 1]) || t[s - 1] == UInt8(ascii: "-") { continue }
            if s + 11 < t.count, PIIBytes.isAlnum(t[s + 11]) || t[s + 11] == UInt8(ascii: "-") { continue }
            let area = value(s, 3)
            if area == 0 || area == 666 || area >= 900 || value(s + 4, 2) == 0 || value(s + 7, 4) == 0 { continue }
            return true
        }
        return false
    }
}

/// National Provider Identifiers: exactly ten digits between word boundaries (not inside a hex id, a longer
/// number or a decimal such as `1733090000.25`), starting with 1 or 2, whose check digit is the Luhn digit
/// of `80840` followed by the first nine (CMS, "NPI check digit").
///
/// A value whose member name says it is a time (`ts`, `timestamp`, `epoch`, `created_at`, …) is not
/// flagged: epoch seconds are ten digits starting with 1 too, and one in ten passes Luhn.
public struct NPIDetector: PIIDetector {
    public init() {}
    public var name: String { "npi" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 10) }

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var runStart = -1
        var bounded = true  // the run started after a non-alphanumeric byte (or at the start)
        for k in 0...t.count {
            let isDigit = k < t.count && PIIBytes.isDigit(t[k])
            if isDigit {
                if runStart < 0 {
                    runStart = k
                    bounded = k == 0 || !PIIBytes.isAlnum(t[k - 1])
                    // The fraction or last part of a number (`3.1234567893`, `1.2.1234567893`).
                    if k >= 2, t[k - 1] == UInt8(ascii: "."), PIIBytes.isDigit(t[k - 2]) { bounded = false }
                }
                continue
            }
            var endBounded = k == t.count || !PIIBytes.isAlnum(t[k])
            if k + 1 < t.count, t[k] == UInt8(ascii: "."), PIIBytes.isDigit(t[k + 1]) { endBounded = false }
            if runStart >= 0, bounded, endBounded, k - runStart == 10, Self.isNPI(t, at: runStart) { return true }
            runStart = -1
        }
        return false
    }

    public func matches(_ t: UnsafeBufferPointer<UInt8>, memberName: UnsafeBufferPointer<UInt8>) -> Bool {
        !MemberName.isTime(memberName) && matches(t)
    }

    static func isNPI(_ t: UnsafeBufferPointer<UInt8>, at s: Int) -> Bool {
        let first = t[s] &- 0x30
        guard first == 1 || first == 2 else { return false }
        // Luhn over "80840" + the ten digits: from the right, every second digit is doubled (the check digit
        // is not). The prefix adds a constant 24 (8·2→7, 0, 8·2→7, 4, 0·2: with the ten digits after it,
        // its digits sit at doubled, plain, doubled, plain, doubled positions, read from the left).
        var sum = 24
        for j in 0..<10 {
            let d = Int(t[s + j] &- 0x30)
            if j % 2 == 0 {
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
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 0, needsAt: true) }

    static func isLocal(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }
    static func isAlnum(_ b: UInt8) -> Bool { PIIBytes.isAlnum(b) }

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

/// DEA registration numbers: two letters and seven digits between word boundaries. The first letter is a
/// registrant type (A B C D E F G H J K L M P R S T U X), the second the registrant's last initial or 9;
/// the last digit is the last digit of (d1 + d3 + d5) + 2·(d2 + d4 + d6) (DEA Diversion Control,
/// 21 CFR 1301; e.g. `AB1234563`). Uppercase as issued, or all lowercase (`ab1234563`, as typed in
/// logs): the check digit keeps a random lowercase token from passing one time in ten, and mixed case is
/// left alone.
public struct DEADetector: PIIDetector {
    public init() {}
    public var name: String { "dea" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 7) }

    /// Bit n set: the lowercase letter `a`+n is a registrant type.
    static let registrantTypes: UInt32 = {
        var m: UInt32 = 0
        for c in "abcdefghjklmprstux".utf8 { m |= 1 << UInt32(c - UInt8(ascii: "a")) }
        return m
    }()

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard t.count >= 9 else { return false }
        for s in 0...(t.count - 9) {
            let a = t[s]
            guard PIIBytes.isLetter(a), Self.registrantTypes & (1 << UInt32((a | 0x20) &- 0x61)) != 0 else {
                continue
            }
            let b = t[s + 1]
            let upper = PIIBytes.isUpper(a)
            guard b == UInt8(ascii: "9") || (upper ? PIIBytes.isUpper(b) : PIIBytes.isLower(b)) else { continue }
            guard s == 0 || !PIIBytes.isAlnum(t[s - 1]), s + 9 == t.count || !PIIBytes.isAlnum(t[s + 9]) else {
                continue
            }
            var digits = true
            for j in 2..<9 where !PIIBytes.isDigit(t[s + j]) { digits = false }
            guard digits else { continue }
            func d(_ n: Int) -> Int { Int(t[s + 1 + n] &- 0x30) }  // d1 … d7
            if ((d(1) + d(3) + d(5)) + 2 * (d(2) + d(4) + d(6))) % 10 == d(7) { return true }
        }
        return false
    }
}

/// Medicare Beneficiary Identifiers (CMS, "Understanding the MBI format"): 11 characters, by position
/// 1 digit 1–9, 2 letter, 3 letter or digit, 4 digit, 5 letter, 6 letter or digit, 7 digit, 8 and 9
/// letters, 10 and 11 digits; letters are uppercase A–Z without S, L, O, I, B and Z. Written bare
/// (`1EG4TE5MK73`) or with dashes after positions 4 and 7 (`1EG4-TE5-MK73`), between word boundaries.
/// There is no check digit: the shape is strict instead (lowercase is not accepted).
public struct MBIDetector: PIIDetector {
    public init() {}
    public var name: String { "mbi" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 5) }

    /// Bit n set: the uppercase letter `A`+n is never used in an MBI.
    static let excluded: UInt32 = {
        var m: UInt32 = 0
        for c in "SLOIBZ".utf8 { m |= 1 << UInt32(c - UInt8(ascii: "A")) }
        return m
    }()

    static func isLetter(_ b: UInt8) -> Bool { PIIBytes.isUpper(b) && excluded & (1 << UInt32(b &- 0x41)) == 0 }

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard t.count >= 11 else { return false }
        for s in 0...(t.count - 11) where t[s] &- 0x31 < 9 {
            guard s == 0 || !PIIBytes.isAlnum(t[s - 1]) else { continue }
            if bounded(t, s + 11), Self.isMBI(t, at: s, dashed: false) { return true }
            if bounded(t, s + 13), t[s + 4] == UInt8(ascii: "-"), t[s + 8] == UInt8(ascii: "-"),
                Self.isMBI(t, at: s, dashed: true)
            {
                return true
            }
        }
        return false
    }

    /// Whether an identifier ending at `e` (exclusive) fits in `t` and ends a word.
    func bounded(_ t: UnsafeBufferPointer<UInt8>, _ e: Int) -> Bool {
        e <= t.count && (e == t.count || !PIIBytes.isAlnum(t[e]))
    }

    static func isMBI(_ t: UnsafeBufferPointer<UInt8>, at s: Int, dashed: Bool) -> Bool {
        func c(_ p: Int) -> UInt8 { t[s + p + (dashed ? (p >= 7 ? 2 : p >= 4 ? 1 : 0) : 0)] }
        func digit(_ p: Int) -> Bool { PIIBytes.isDigit(c(p)) }
        func letter(_ p: Int) -> Bool { isLetter(c(p)) }
        return digit(0) && letter(1) && (letter(2) || digit(2)) && digit(3) && letter(4)
            && (letter(5) || digit(5)) && digit(6) && letter(7) && letter(8) && digit(9) && digit(10)
    }
}

/// US and Canadian (NANP) phone numbers with separators: `(NXX) NXX-XXXX`, `NXX-NXX-XXXX`,
/// `NXX.NXX.XXXX`, `NXX NXX XXXX`, optionally after `+1` or `1` (`+1 212 555 0134`, `1-800-…`), where N is
/// 2–9 (NANP numbering plan; an area code is never N11, the service codes 211–911). Ten bare digits are not
/// flagged (ids and timestamps look like that), nor a group inside a longer run of digits, dashes or dots
/// (`10.212.555.0134`, `212-555-0134-7`).
public struct PhoneDetector: PIIDetector {
    public init() {}
    public var name: String { "phone" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 10) }

    static func isSeparator(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: " ")
    }

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard t.count >= 12 else { return false }
        func digits(_ k: Int, _ n: Int) -> Bool {
            guard k + n <= t.count else { return false }
            for j in k..<k + n where !PIIBytes.isDigit(t[j]) { return false }
            return true
        }
        /// The exchange, a separator and the line number at `k`, then a boundary; `sep` nil: any separator.
        func rest(_ k: Int, _ sep: UInt8?) -> Bool {
            guard digits(k, 3), t[k] >= UInt8(ascii: "2"), k + 8 <= t.count, digits(k + 4, 4) else { return false }
            guard sep.map({ t[k + 3] == $0 }) ?? Self.isSeparator(t[k + 3]) else { return false }
            return endBounded(k + 8, t[k + 3])
        }
        func endBounded(_ e: Int, _ sep: UInt8) -> Bool {
            guard e < t.count else { return true }
            let b = t[e]
            if PIIBytes.isAlnum(b) { return false }
            // A longer dashed or dotted run (`…-0134-7`, `…0134.5`), or one more group of digits (`… 0134 77`).
            let next = e + 1 < t.count && PIIBytes.isDigit(t[e + 1])
            return !(next && (b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == sep))
        }
        for a in 0...(t.count - 10) where t[a] &- 0x32 < 8 {
            guard digits(a, 3), !(t[a + 1] == UInt8(ascii: "1") && t[a + 2] == UInt8(ascii: "1")) else { continue }
            if a >= 1, t[a - 1] == UInt8(ascii: "("), a + 3 < t.count, t[a + 3] == UInt8(ascii: ")") {
                var k = a + 4
                if k < t.count, t[k] == UInt8(ascii: " ") { k += 1 }
                if rest(k, nil), startBounded(t, a - 1) { return true }
            } else if a + 3 < t.count, Self.isSeparator(t[a + 3]), rest(a + 4, t[a + 3]), startBounded(t, a) {
                return true
            }
        }
        return false
    }

    /// Whether the number starting at `p` (its `(` or first digit) starts a word, a `+1`/`1` prefix aside.
    func startBounded(_ t: UnsafeBufferPointer<UInt8>, _ p: Int) -> Bool {
        guard p > 0 else { return true }
        let b = t[p - 1]
        /// A country code 1 at `k` (`1`, or `+1`) that itself starts a word.
        func countryCode(_ k: Int) -> Bool {
            guard k >= 0, t[k] == UInt8(ascii: "1") else { return false }
            guard k > 0 else { return true }
            let c = t[k - 1]
            return c == UInt8(ascii: "+") || !(PIIBytes.isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-"))
        }
        if b == UInt8(ascii: "1") { return t[p] == UInt8(ascii: "(") && countryCode(p - 1) }  // +1(212) …
        if Self.isSeparator(b), countryCode(p - 2) { return true }  // +1 212 …, 1-800-…
        if Self.isSeparator(b), p >= 2, PIIBytes.isDigit(t[p - 2]) {
            // Another country's code (`+44 20 …`, `+2 212 …`): not a NANP number.
            var k = p - 2
            while k > 0, PIIBytes.isDigit(t[k - 1]) { k -= 1 }
            if k > 0, t[k - 1] == UInt8(ascii: "+") { return false }
        }
        return
            !(PIIBytes.isAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: "/"))
    }
}

/// Dates of birth: a calendar-valid date starting within 20 bytes after a context word (`dob`, `d.o.b`, `date of
/// birth`, `birth date`, `birthdate`, `birthday`, `birth`, `born`; any case, words joined by a space, `_`
/// or `-` or nothing, as in `dateOfBirth`), or the value of a member whose name says so (`dob`,
/// `date_of_birth`, `birthDate`, `patient_dob`). Dates: `YYYY-MM-DD` (or `/`, `.`), `MM/DD/YYYY`,
/// `DD/MM/YYYY`, `M/D/YY`, `DD.MM.YYYY`, `MM-DD-YYYY`, `YYYYMMDD`, `Jan 2, 1980`, `2 January 1980`.
/// HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C)) removes every date element but the year of a birth date;
/// a date without such a word (a timestamp, a date of service) is not flagged here.
public struct DateOfBirthDetector: PIIDetector {
    public init() {}
    public var name: String { "dob" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 4) }

    /// How far after the context word the date may start (`DOB (mm/dd/yyyy): ` is 15).
    static let window = 20

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < t.count {
            let c = t[i] | 0x20
            if c == UInt8(ascii: "d") || c == UInt8(ascii: "b"), i == 0 || !PIIBytes.isAlnum(t[i - 1]),
                let end = Self.contextWord(t, i), Self.dateFollows(t, end)
            {
                return true
            }
            i += 1
        }
        return false
    }

    public func matches(_ t: UnsafeBufferPointer<UInt8>, memberName: UnsafeBufferPointer<UInt8>) -> Bool {
        (MemberName.isBirth(memberName) && Self.dateFollows(t, 0)) || matches(t)
    }

    /// The index after a birth context word at `i`, which is not followed by a letter.
    static func contextWord(_ t: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        func joiner(_ k: Int) -> Int {
            k < t.count && (t[k] == UInt8(ascii: " ") || t[k] == UInt8(ascii: "_") || t[k] == UInt8(ascii: "-"))
                ? k + 1 : k
        }
        var end: Int?
        if let e = PIIBytes.word(t, i, "dob") {
            end = e
        } else if let e = PIIBytes.word(t, i, "d.o.b") {
            end = e < t.count && t[e] == UInt8(ascii: ".") ? e + 1 : e
        } else if let e = PIIBytes.word(t, i, "date"), let o = PIIBytes.word(t, joiner(e), "of") {
            end = PIIBytes.word(t, joiner(o), "birth")
        } else if let e = PIIBytes.word(t, i, "birth") {
            end = PIIBytes.word(t, joiner(e), "date") ?? PIIBytes.word(t, joiner(e), "day") ?? e
        } else {
            end = PIIBytes.word(t, i, "born")
        }
        guard let end, end == t.count || !PIIBytes.isLetter(t[end]) else { return nil }
        return end
    }

    /// Whether a date starts within `window` bytes of `k`, with nothing but punctuation and a few filler
    /// words before it (`born on`, `DOB is`, `DOB (mm/dd/yyyy):`): in `DOB unknown, seen 2024-01-02` the
    /// date is not the birth date.
    static func dateFollows(_ t: UnsafeBufferPointer<UInt8>, _ k: Int) -> Bool {
        var j = k
        while j < t.count, j <= k + window {
            guard PIIBytes.isAlnum(t[j]), j == 0 || !PIIBytes.isAlnum(t[j - 1]) else {
                j += 1
                continue
            }
            if isDate(t, j) { return true }
            guard let e = PIIBytes.filler(t, j, fillers) else { return false }
            j = e
        }
        return false
    }

    static let fillers: [StaticString] = ["on", "is", "was", "mm", "dd", "yy", "yyyy", "m", "d"]

    static func isDate(_ t: UnsafeBufferPointer<UInt8>, _ j: Int) -> Bool {
        if PIIBytes.isLetter(t[j]) { return monthNameDate(t, j) }
        let first = PIIBytes.number(t, j, max: 9)
        var k = j + first.length
        func endBounded(_ e: Int) -> Bool { e == t.count || !PIIBytes.isAlnum(t[e]) || t[e] == UInt8(ascii: "T") }
        if first.length == 8 {  // YYYYMMDD
            let v = first.value
            return endBounded(k) && isValid(year: v / 10000, month: v / 100 % 100, day: v % 100, digits: 4)
        }
        guard first.length == 4 || first.length <= 2, k < t.count else { return false }
        let sep = t[k]
        if sep == UInt8(ascii: " "), first.length <= 2 { return dayMonthNameDate(t, j) }
        guard sep == UInt8(ascii: "-") || sep == UInt8(ascii: "/") || sep == UInt8(ascii: ".") else { return false }
        let second = PIIBytes.number(t, k + 1, max: 3)
        k += 1 + second.length
        guard (1...2).contains(second.length), k < t.count, t[k] == sep else { return false }
        let third = PIIBytes.number(t, k + 1, max: 5)
        k += 1 + third.length
        guard endBounded(k) else { return false }
        if first.length == 4 {  // YYYY-MM-DD
            return third.length <= 2 && isValid(year: first.value, month: second.value, day: third.value, digits: 4)
        }
        // MM/DD/YYYY or DD/MM/YYYY (and two-digit years): either reading will do.
        guard third.length == 2 || third.length == 4 else { return false }
        return isValid(year: third.value, month: first.value, day: second.value, digits: third.length)
            || isValid(year: third.value, month: second.value, day: first.value, digits: third.length)
    }

    /// `Jan 2, 1980`, `January 2 1980`, `Sept. 30, 1975`, `Mar 3rd, 1990`.
    static func monthNameDate(_ t: UnsafeBufferPointer<UInt8>, _ j: Int) -> Bool {
        guard let (month, after) = monthName(t, j) else { return false }
        var k = after
        guard k < t.count, t[k] == UInt8(ascii: " ") else { return false }
        while k < t.count, t[k] == UInt8(ascii: " ") { k += 1 }
        let day = PIIBytes.number(t, k, max: 3)
        guard (1...2).contains(day.length) else { return false }
        k += day.length
        k = ordinalSuffix(t, k)
        if k < t.count, t[k] == UInt8(ascii: ",") { k += 1 }
        guard k < t.count, t[k] == UInt8(ascii: " ") else { return false }
        while k < t.count, t[k] == UInt8(ascii: " ") { k += 1 }
        let year = PIIBytes.number(t, k, max: 5)
        guard year.length == 4, k + 4 == t.count || !PIIBytes.isAlnum(t[k + 4]) else { return false }
        return isValid(year: year.value, month: month, day: day.value, digits: 4)
    }

    /// `2 Jan 1980`, `02 January 1980`.
    static func dayMonthNameDate(_ t: UnsafeBufferPointer<UInt8>, _ j: Int) -> Bool {
        let day = PIIBytes.number(t, j, max: 3)
        var k = j + day.length + 1
        guard let (month, after) = monthName(t, k) else { return false }
        k = after
        guard k < t.count, t[k] == UInt8(ascii: " ") else { return false }
        k += 1
        let year = PIIBytes.number(t, k, max: 5)
        guard year.length == 4, k + 4 == t.count || !PIIBytes.isAlnum(t[k + 4]) else { return false }
        return isValid(year: year.value, month: month, day: day.value, digits: 4)
    }

    static let months: [StaticString] = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december",
    ]

    /// The month (1–12) named at `j` (three letters or more of its English name, optionally with a `.`),
    /// and the index after it.
    static func monthName(_ t: UnsafeBufferPointer<UInt8>, _ j: Int) -> (Int, Int)? {
        var e = j
        while e < t.count, PIIBytes.isLetter(t[e]) { e += 1 }
        guard e - j >= 3 else { return nil }
        for (m, name) in months.enumerated() where e - j <= name.utf8CodeUnitCount {
            if PIIBytes.word(t, j, name) == nil {
                // A prefix of the name will do (`Sept`): compare only what is there.
                let n = name.utf8Start
                var same = true
                for k in 0..<(e - j) where PIIBytes.lower(t[j + k]) != n[k] { same = false }
                if !same { continue }
            }
            return (m + 1, e < t.count && t[e] == UInt8(ascii: ".") ? e + 1 : e)
        }
        return nil
    }

    static let ordinals: [StaticString] = ["st", "nd", "rd", "th"]

    static func ordinalSuffix(_ t: UnsafeBufferPointer<UInt8>, _ k: Int) -> Int {
        for s in ordinals {
            if let e = PIIBytes.word(t, k, s), e == t.count || !PIIBytes.isLetter(t[e]) { return e }
        }
        return k
    }

    static let daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    /// A calendar date: four-digit years 1800–2099, two-digit years any (00 counts as a leap year).
    static func isValid(year: Int, month: Int, day: Int, digits: Int) -> Bool {
        if digits == 4, !(1800...2099).contains(year) { return false }
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (digits == 2 || year % 100 != 0 || year % 400 == 0)
        return day <= (month == 2 ? (leap ? 29 : 28) : daysInMonth[month - 1])
    }
}

/// Medical record numbers: facility-specific, so found by context (HIPAA Safe Harbor item (H)): a token of
/// 5–12 letters and digits (dashes inside allowed) holding at least 4 digits, starting within 20 bytes
/// after `mrn`, `medical record`, `med rec`, `medrec`, `chart #`, `chart no` or
/// `chart number` (any case; `MRN: 00123456`, `medical record number MR-4471902`; only punctuation and
/// filler words such as `number`, `no`, `is` in between), or the value of a member
/// whose name says so (`mrn`, `patient_mrn`, `medical_record_number`, `medRecNo`, `chart_no`).
public struct MedicalRecordNumberDetector: PIIDetector {
    public init() {}
    public var name: String { "mrn" }
    public var prefilter: PIIPrefilter { PIIPrefilter(minimumDigits: 4) }

    static let window = 20

    public func matches(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < t.count {
            let c = t[i] | 0x20
            if c == UInt8(ascii: "m") || c == UInt8(ascii: "c"), i == 0 || !PIIBytes.isAlnum(t[i - 1]),
                let end = Self.contextWord(t, i), Self.recordNumberFollows(t, end)
            {
                return true
            }
            i += 1
        }
        return false
    }

    public func matches(_ t: UnsafeBufferPointer<UInt8>, memberName: UnsafeBufferPointer<UInt8>) -> Bool {
        (MemberName.isMedicalRecord(memberName) && Self.recordNumberFollows(t, 0)) || matches(t)
    }

    static func contextWord(_ t: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        func joiner(_ k: Int) -> Int {
            k < t.count && (t[k] == UInt8(ascii: " ") || t[k] == UInt8(ascii: "_") || t[k] == UInt8(ascii: "-"))
                ? k + 1 : k
        }
        var end: Int?
        if let e = PIIBytes.word(t, i, "mrn") {
            end = e
        } else if let e = PIIBytes.word(t, i, "medical"), let r = PIIBytes.word(t, joiner(e), "record") {
            end = r
        } else if let e = PIIBytes.word(t, i, "med"), let r = PIIBytes.word(t, joiner(e), "rec") {
            end = PIIBytes.word(t, r, "ord") ?? r
        } else if let e = PIIBytes.word(t, i, "chart") {
            var k = e
            while k < t.count, t[k] == UInt8(ascii: " ") || t[k] == UInt8(ascii: "_") { k += 1 }
            if k < t.count, t[k] == UInt8(ascii: "#") { return k + 1 }
            end = PIIBytes.word(t, k, "number") ?? PIIBytes.word(t, k, "num") ?? PIIBytes.word(t, k, "no")
        }
        guard let end, end == t.count || !PIIBytes.isLetter(t[end]) else { return nil }
        return end
    }

    static let fillers: [StaticString] = ["number", "num", "nbr", "no", "is", "id", "of"]

    /// Whether a record number starts within `window` bytes of `k`, with nothing but punctuation and a few
    /// filler words before it (`medical record number`, `chart no.`, `MRN is`).
    static func recordNumberFollows(_ t: UnsafeBufferPointer<UInt8>, _ k: Int) -> Bool {
        var j = k
        while j < t.count, j <= k + window {
            guard PIIBytes.isAlnum(t[j]), j == 0 || !PIIBytes.isAlnum(t[j - 1]) else {
                j += 1
                continue
            }
            // The token: letters, digits and single inner dashes.
            var e = j
            var length = 0
            var digits = 0
            while e < t.count {
                if PIIBytes.isAlnum(t[e]) {
                    length += 1
                    if PIIBytes.isDigit(t[e]) { digits += 1 }
                    e += 1
                } else if t[e] == UInt8(ascii: "-"), e + 1 < t.count, PIIBytes.isAlnum(t[e + 1]) {
                    e += 1
                } else {
                    break
                }
            }
            if digits > 0 { return (5...12).contains(length) && digits >= 4 }
            guard PIIBytes.filler(t, j, fillers) != nil else { return false }
            j = e
        }
        return false
    }
}

/// What a JSON member's name says about its value. Names are read as words: split at anything but a
/// letter and where a lowercase letter meets an uppercase one (`dateOfBirth`, `patient_dob`, `MRN`).
enum MemberName {
    /// Calls `body` with each word; stops when it returns true, and returns whether it did.
    static func anyWord(_ n: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Bool) -> Bool {
        var start = -1
        for k in 0...n.count {
            let letter = k < n.count && PIIBytes.isLetter(n[k])
            let split = !letter || (start >= 0 && PIIBytes.isUpper(n[k]) && PIIBytes.isLower(n[k - 1]))
            if split, start >= 0 {
                if body(start..<k) { return true }
                start = -1
            }
            if letter, start < 0 { start = k }
        }
        return false
    }

    static func hasWord(_ n: UnsafeBufferPointer<UInt8>, _ words: [StaticString]) -> Bool {
        anyWord(n) { r in
            words.contains { w in w.utf8CodeUnitCount == r.count && PIIBytes.word(n, r.lowerBound, w) != nil }
        }
    }

    /// Whether the name's letters, lowercased and run together (`medical_record_no` → `medicalrecordno`),
    /// contain `needle`.
    static func lettersContain(_ n: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let w = needle.utf8Start
        let m = needle.utf8CodeUnitCount
        for s in n.indices where PIIBytes.lower(n[s]) == w[0] {
            var k = s
            var matched = 0
            while k < n.count, matched < m {
                if PIIBytes.isLetter(n[k]) {
                    guard PIIBytes.lower(n[k]) == w[matched] else { break }
                    matched += 1
                }
                k += 1
            }
            if matched == m { return true }
        }
        return false
    }

    static func isBirth(_ n: UnsafeBufferPointer<UInt8>) -> Bool {
        hasWord(n, birthWords) || lettersContain(n, "birth")
    }

    static func isMedicalRecord(_ n: UnsafeBufferPointer<UInt8>) -> Bool {
        hasWord(n, recordWords) || lettersContain(n, "medicalrecord") || lettersContain(n, "medrec")
            || lettersContain(n, "chartno") || lettersContain(n, "chartnum")
    }

    /// `ts`, `time`, `timestamp`, `epoch`, `created_at`, `expiresAt`, `iat`: a number there is a time; and
    /// `duration_ms`, `bytes`, `size`, `count`, `tokens_in`: a quantity (integer values are scanned too).
    static func isTime(_ n: UnsafeBufferPointer<UInt8>) -> Bool {
        hasWord(n, timeWords)
    }

    static let birthWords: [StaticString] = ["dob", "born"]
    static let recordWords: [StaticString] = ["mrn"]
    static let timeWords: [StaticString] = [
        "ts", "time", "timestamp", "epoch", "at", "iat", "nbf", "exp", "expires", "unix", "seconds", "ms", "millis",
        "duration", "elapsed", "latency", "bytes", "size", "count", "tokens", "total", "offset", "lsn", "hlc",
    ]
}
