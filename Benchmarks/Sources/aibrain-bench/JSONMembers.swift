/// The top-level members of one JSON object as byte ranges. Written here, not borrowed from EventLog's
/// `JSONScanner`, so the round-trip check is an independent oracle. Assumes valid JSON (both sides are).
enum JSONMembers {
    struct Member {
        /// The key's bytes without quotes (escapes left as written).
        var key: Range<Int>
        var value: Range<Int>
        /// `"key":value` as written.
        var whole: Range<Int>
    }

    static func split(_ b: UnsafeRawBufferPointer) -> [Member]? {
        var i = 0
        func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }
        /// From an opening quote to just past the closing one.
        func skipString() -> Bool {
            i += 1
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "\\"): i += 2
                case UInt8(ascii: "\""):
                    i += 1
                    return true
                default: i += 1
                }
            }
            return false
        }
        func skipValue() -> Bool {
            var depth = 0
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return false }
                    if depth == 0 { return true }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return true }
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        return true
                    }
                case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                    if depth == 0 { return true }
                default: break
                }
                i += 1
            }
            return depth == 0
        }
        var out: [Member] = []
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while true {
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "}") { return out }
            if !out.isEmpty {
                guard b[i] == UInt8(ascii: ",") else { return nil }
                i += 1
                skipSpace()
            }
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            let keyStart = i
            guard skipString() else { return nil }
            let key = keyStart + 1..<i - 1
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            guard skipValue() else { return nil }
            out.append(Member(key: key, value: valueStart..<i, whole: keyStart..<i))
        }
    }
}
