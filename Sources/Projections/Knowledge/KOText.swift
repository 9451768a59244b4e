import Foundation

/// Turns knowledge-object text and queries into index terms, for prose and for code.
///
/// - Words are runs of letters and digits; `_` joins identifier parts. An identifier such as
///   `verify_npdb_response`, `NPDBClient` or `DeadlockDetected` gives its whole lowercased form as one term
///   and each of its parts (split at `_` and at case changes) as further terms, so `npdb` finds
///   `NPDBClient` and the identifier itself finds the exact one first.
/// - Parts are lowercased, English stop words are dropped, and prose words are stemmed with the Porter
///   stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980; as SQLite FTS5's `porter` tokenizer):
///   `retries`, `retrying` and `retried` all become `retri`. Whole identifiers and words with digits are
///   not stemmed (`http2`, `s3`, `psycopg2`).
/// - Non-ASCII letters are kept as letters (lowercased); they are not stemmed.
public enum KOText {
    /// Index terms of `text`, in order, with repeats (term frequency counts them).
    public static func terms(_ text: String) -> [String] {
        var none: [[UInt8]: String]? = nil
        return terms(text, stems: &none)
    }

    /// The same, remembering stems in `stems` (an index build sees the same words over and over).
    public static func terms(_ text: String, stems: inout [[UInt8]: String]?) -> [String] {
        // Canonically equivalent spellings (é precomposed or e + U+0301) give the same bytes: the index looks
        // terms up by bytes.
        let text = text.utf8.allSatisfy { $0 < 0x80 } ? text : text.precomposedStringWithCanonicalMapping
        var out: [String] = []
        var word: [UInt8] = []
        func flush() {
            if !word.isEmpty {
                emit(word, into: &out, stems: &stems)
                word.removeAll(keepingCapacity: true)
            }
        }
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                let b = UInt8(scalar.value)
                if isAlnum(b) || b == UInt8(ascii: "_") {
                    word.append(b)
                } else if b == UInt8(ascii: "'"), !word.isEmpty {
                    // don't, agent's: the apostrophe and what follows it are dropped with the stop words
                    flush()
                } else {
                    flush()
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                word += Array(String(scalar).lowercased().utf8)
            } else {
                flush()
            }
        }
        flush()
        return out
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
    private static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    private static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func emit(_ word: [UInt8], into out: inout [String], stems: inout [[UInt8]: String]?) {
        // A word longer than 128 bytes is cut there (a base64 blob or a minified line is no query term).
        let word = word.count > 128 ? Array(word.prefix(128)) : word
        let parts = split(word)
        if parts.count > 1 {
            let whole = String(decoding: word.map { isUpper($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
            out.append(whole)
        }
        for p in parts {
            let lower = p.map { isUpper($0) ? $0 | 0x20 : $0 }
            let s = String(decoding: lower, as: UTF8.self)
            if stopWords.contains(s) { continue }
            // Long words are not prose: no stemming (the stemmer's measure is quadratic in a run of `y`s).
            if lower.count > 40 || lower.contains(where: isDigit) || lower.contains(where: { $0 >= 0x80 })
                || lower.count <= 2
            {
                out.append(s)
            } else if let known = stems?[lower] {
                out.append(known)
            } else {
                let stem = Porter.stem(lower)
                stems?[lower] = stem
                out.append(stem)
            }
        }
    }

    /// Identifier parts: split at `_`, at lower→Upper (`deadlockDetected`) and at the last capital of a
    /// capital run followed by a lowercase letter (`NPDBClient` → `NPDB`, `Client`).
    static func split(_ word: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var cur: [UInt8] = []
        for b in word {
            if b == UInt8(ascii: "_") {
                if !cur.isEmpty { parts.append(cur) }
                cur = []
                continue
            }
            if let last = cur.last, isUpper(b) {
                if isLower(last) || isDigit(last) && cur.contains(where: isLower) {
                    parts.append(cur)
                    cur = []
                }
            } else if isLower(b), cur.count >= 2, isUpper(cur[cur.count - 1]), isUpper(cur[cur.count - 2]) {
                let c = cur.removeLast()
                parts.append(cur)
                cur = [c]
            }
            cur.append(b)
        }
        if !cur.isEmpty { parts.append(cur) }
        return parts
    }

    /// A short English stop list (articles, pronouns, auxiliaries, prepositions): words that carry no topic.
    static let stopWords: Set<String> = [
        "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "before", "but",
        "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in",
        "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "should", "so", "such", "than",
        "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "was",
        "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would", "you",
        "your", "s", "t", "don", "doesn", "isn", "won",
    ]
}

/// The Porter stemmer (1980), steps 1a–5b, on lowercase ASCII letters.
enum Porter {
    static func stem(_ input: [UInt8]) -> String {
        var w = input
        guard w.count > 2 else { return String(decoding: w, as: UTF8.self) }
        step1a(&w)
        step1b(&w)
        step1c(&w)
        step2(&w)
        step3(&w)
        step4(&w)
        step5(&w)
        return String(decoding: w, as: UTF8.self)
    }

    private static func isConsonant(_ w: [UInt8], _ i: Int) -> Bool {
        switch w[i] {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"): return false
        case UInt8(ascii: "y"): return i == 0 ? true : !isConsonant(w, i - 1)
        default: return true
        }
    }

    /// m: the number of VC sequences in w[0..<end].
    private static func measure(_ w: [UInt8], _ end: Int) -> Int {
        var n = 0
        var i = 0
        while i < end && isConsonant(w, i) { i += 1 }
        while i < end {
            while i < end && !isConsonant(w, i) { i += 1 }
            if i >= end { break }
            n += 1
            while i < end && isConsonant(w, i) { i += 1 }
        }
        return n
    }

    private static func hasVowel(_ w: [UInt8], _ end: Int) -> Bool {
        (0..<end).contains { !isConsonant(w, $0) }
    }

    private static func doubleConsonant(_ w: [UInt8], _ end: Int) -> Bool {
        end >= 2 && w[end - 1] == w[end - 2] && isConsonant(w, end - 1)
    }

    /// cvc at the end of w[0..<end], the last c not w, x or y.
    private static func cvc(_ w: [UInt8], _ end: Int) -> Bool {
        guard end >= 3, isConsonant(w, end - 1), !isConsonant(w, end - 2), isConsonant(w, end - 3) else {
            return false
        }
        let c = w[end - 1]
        return c != UInt8(ascii: "w") && c != UInt8(ascii: "x") && c != UInt8(ascii: "y")
    }

    private static func ends(_ w: [UInt8], _ s: String) -> Bool {
        let n = s.utf8.count
        return w.count >= n && s.utf8.elementsEqual(w[(w.count - n)...])
    }

    /// Replaces suffix `s` by `r` when the stem before it has m > `minM`.
    @discardableResult
    private static func replace(_ w: inout [UInt8], _ s: String, _ r: String, minM: Int) -> Bool {
        guard ends(w, s) else { return false }
        let stem = w.count - s.utf8.count
        if measure(w, stem) > minM {
            w.removeLast(s.utf8.count)
            w += Array(r.utf8)
        }
        return true
    }

    private static func step1a(_ w: inout [UInt8]) {
        if ends(w, "sses") {
            w.removeLast(2)
        } else if ends(w, "ies") {
            w.removeLast(2)
        } else if ends(w, "ss") {
        } else if ends(w, "s") {
            w.removeLast()
        }
    }

    private static func step1b(_ w: inout [UInt8]) {
        if ends(w, "eed") {
            if measure(w, w.count - 3) > 0 { w.removeLast() }
            return
        }
        var cut = 0
        if ends(w, "ed"), hasVowel(w, w.count - 2) {
            cut = 2
        } else if ends(w, "ing"), hasVowel(w, w.count - 3) {
            cut = 3
        }
        guard cut > 0 else { return }
        w.removeLast(cut)
        if ends(w, "at") || ends(w, "bl") || ends(w, "iz") {
            w.append(UInt8(ascii: "e"))
        } else if doubleConsonant(w, w.count), !(ends(w, "l") || ends(w, "s") || ends(w, "z")) {
            w.removeLast()
        } else if measure(w, w.count) == 1, cvc(w, w.count) {
            w.append(UInt8(ascii: "e"))
        }
    }

    private static func step1c(_ w: inout [UInt8]) {
        if ends(w, "y"), hasVowel(w, w.count - 1) { w[w.count - 1] = UInt8(ascii: "i") }
    }

    private static let step2Rules: [(String, String)] = [
        ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("bli", "ble"),
        ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
        ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
        ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
    ]

    private static func step2(_ w: inout [UInt8]) {
        for (s, r) in step2Rules where replace(&w, s, r, minM: 0) { return }
    }

    private static let step3Rules: [(String, String)] = [
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
    ]

    private static func step3(_ w: inout [UInt8]) {
        for (s, r) in step3Rules where replace(&w, s, r, minM: 0) { return }
    }

    private static let step4Suffixes = [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate",
        "iti", "ous", "ive", "ize",
    ]

    private static func step4(_ w: inout [UInt8]) {
        // The longest matching suffix decides (ement before ment before ent).
        let candidates = step4Suffixes.filter { ends(w, $0) }
        guard let s = candidates.max(by: { $0.utf8.count < $1.utf8.count }) else { return }
        let stem = w.count - s.utf8.count
        guard measure(w, stem) > 1 else { return }
        if s == "ion" {
            guard stem > 0, w[stem - 1] == UInt8(ascii: "s") || w[stem - 1] == UInt8(ascii: "t") else { return }
        }
        w.removeLast(s.utf8.count)
    }

    private static func step5(_ w: inout [UInt8]) {
        if ends(w, "e") {
            let m = measure(w, w.count - 1)
            if m > 1 || (m == 1 && !cvc(w, w.count - 1)) { w.removeLast() }
        }
        if measure(w, w.count) > 1, doubleConsonant(w, w.count), ends(w, "l") { w.removeLast() }
    }
}
