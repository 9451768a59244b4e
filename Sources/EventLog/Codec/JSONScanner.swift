/// A strict, allocation-light scanner for one JSON object per line: it splits the top level into
/// (key, raw value bytes) in input order and never converts numbers (they are copied as text, never
/// through a Double). Nested values are validated but kept as bytes.
public struct JSONScanner {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "at byte \(offset): \(reason)" }
    }

    public struct Member {
        public var key: String
        /// Raw bytes of the value as given (may contain insignificant whitespace inside nested values).
        public var value: ArraySlice<UInt8>
    }

    let bytes: [UInt8]
    var i = 0

    /// Parses a top-level object; throws on anything else, on duplicate keys, or on trailing bytes.
    public static func members(of line: [UInt8]) throws(Failure) -> [Member] {
        var s = JSONScanner(bytes: line)
        s.skipSpace()
        guard s.peek == UInt8(ascii: "{") else { throw Failure(offset: s.i, reason: "expected a JSON object") }
        s.i += 1
        var out: [Member] = []
        var seen = Set<String>()
        s.skipSpace()
        if s.peek == UInt8(ascii: "}") {
            s.i += 1
        } else {
            while true {
                s.skipSpace()
                let keyAt = s.i
                let key = try s.string()
                guard seen.insert(key).inserted else {
                    // The key itself is not quoted: messages must not echo input (it may be personal data).
                    throw Failure(offset: keyAt, reason: "duplicate member name (not quoted here)")
                }
                s.skipSpace()
                guard s.peek == UInt8(ascii: ":") else {
                    throw Failure(offset: s.i, reason: "expected ':' after a key")
                }
                s.i += 1
                s.skipSpace()
                let start = s.i
                try s.skipValue(depth: 0)
                out.append(Member(key: key, value: line[start..<s.i]))
                s.skipSpace()
                if s.peek == UInt8(ascii: ",") {
                    s.i += 1
                    continue
                }
                guard s.peek == UInt8(ascii: "}") else { throw Failure(offset: s.i, reason: "expected ',' or '}'") }
                s.i += 1
                break
            }
        }
        s.skipSpace()
        guard s.i == line.count else { throw Failure(offset: s.i, reason: "unexpected bytes after the object") }
        return out
    }

    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    /// Decodes a JSON string at the cursor.
    mutating func string() throws(Failure) -> String {
        guard peek == UInt8(ascii: "\"") else { throw Failure(offset: i, reason: "expected a string") }
        i += 1
        let start = i
        var plain = true
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                if plain {
                    guard let s = String(validating: bytes[start..<i], as: UTF8.self) else {
                        throw Failure(offset: start, reason: "string is not valid UTF-8")
                    }
                    i += 1
                    return s
                }
                break
            }
            if c == UInt8(ascii: "\\") {
                plain = false
                i += 2
                continue
            }
            if c < 0x20 { throw Failure(offset: i, reason: "control character in a string") }
            i += 1
        }
        guard i < bytes.count else { throw Failure(offset: start - 1, reason: "unterminated string") }
        // Slow path with escapes.
        i = start
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw Failure(offset: start - 1, reason: "unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                break
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { throw Failure(offset: i, reason: "bad escape") }
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                        else {
                            throw Failure(offset: i, reason: "unpaired surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw Failure(offset: i, reason: "bad surrogate pair")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw Failure(offset: i, reason: "invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw Failure(offset: i - 1, reason: "bad escape")
                }
                continue
            }
            if c < 0x20 { throw Failure(offset: i, reason: "control character in a string") }
            out.append(c)
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw Failure(offset: start, reason: "string is not valid UTF-8")
        }
        return s
    }

    mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw Failure(offset: i, reason: "short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let h = hexValue(bytes[i]) else { throw Failure(offset: i, reason: "bad hex digit in \\u escape") }
            v = v << 4 | UInt32(h)
            i += 1
        }
        return v
    }

    mutating func skipValue(depth: Int) throws(Failure) {
        guard depth < 64 else { throw Failure(offset: i, reason: "nesting deeper than 64") }
        guard let c = peek else { throw Failure(offset: i, reason: "expected a value") }
        switch c {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "}") {
                i += 1
                return
            }
            while true {
                skipSpace()
                _ = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw Failure(offset: i, reason: "expected ':'") }
                i += 1
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard peek == UInt8(ascii: "}") else { throw Failure(offset: i, reason: "expected ',' or '}'") }
                i += 1
                return
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "]") {
                i += 1
                return
            }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard peek == UInt8(ascii: "]") else { throw Failure(offset: i, reason: "expected ',' or ']'") }
                i += 1
                return
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            try number()
        }
    }

    mutating func literal(_ word: String) throws(Failure) {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else {
            throw Failure(offset: i, reason: "invalid literal")
        }
        i += w.count
    }

    /// RFC 8259 number grammar.
    mutating func number() throws(Failure) {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        guard let d = peek, d >= 0x30 && d <= 0x39 else { throw Failure(offset: start, reason: "invalid value") }
        if d == 0x30 { i += 1 } else { while let c = peek, c >= 0x30 && c <= 0x39 { i += 1 } }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard let c = peek, c >= 0x30 && c <= 0x39 else {
                throw Failure(offset: i, reason: "digit expected after '.'")
            }
            while let c = peek, c >= 0x30 && c <= 0x39 { i += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard let c = peek, c >= 0x30 && c <= 0x39 else {
                throw Failure(offset: i, reason: "digit expected in exponent")
            }
            while let c = peek, c >= 0x30 && c <= 0x39 { i += 1 }
        }
    }

    /// Removes insignificant whitespace from a raw (already validated) value.
    /// The text of one JSON string literal (quotes included), escapes resolved; nil if it is not one.
    public static func unescape(_ quoted: ArraySlice<UInt8>) -> String? {
        var s = JSONScanner(bytes: Array(quoted))
        guard let v = try? s.string(), s.i == quoted.count else { return nil }
        return v
    }

    /// Whether `text` is exactly one JSON number (RFC 8259), nothing around it.
    public static func isNumber(_ text: String) -> Bool {
        var s = JSONScanner(bytes: Array(text.utf8))
        guard (try? s.number()) != nil else { return false }
        return s.i == s.bytes.count
    }

    /// Checks that `bytes` is exactly one JSON value (RFC 8259), surrounding white space allowed.
    public static func validate(_ bytes: [UInt8]) throws(Failure) {
        var s = JSONScanner(bytes: bytes)
        s.skipSpace()
        try s.skipValue(depth: 0)
        s.skipSpace()
        guard s.i == bytes.count else { throw Failure(offset: s.i, reason: "bytes after the JSON value") }
    }

    public static func minify(_ raw: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var inString = false
        var escaped = false
        for c in raw {
            if inString {
                out.append(c)
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if c == UInt8(ascii: "\"") {
                inString = true
                out.append(c)
            } else if c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D {
                out.append(c)
            }
        }
    }

    /// Appends `s` as a JSON string literal.
    public static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let h = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, h[Int(c >> 4)], h[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        out.append(0x22)
    }
}
