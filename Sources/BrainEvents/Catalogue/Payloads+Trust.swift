/// `stream.shredded` v1: `aibrain shred --stream S` destroyed the stream's data key (crypto-shredding); its
/// sealed payloads read as `[shredded]` from now on, and every hash and proof over the stored bytes still holds.
public struct StreamShredded: CataloguePayload, Equatable {
    public static let eventType = "stream.shredded"
    public static let typeVersion: UInt16 = 1

    /// The stream whose data key was destroyed (1–255 bytes).
    public var stream: String
    /// The destroyed key's id as the sealed payloads name it (`kid`): 16 lowercase hex digits.
    public var keyID: String
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case stream
        case keyID = "key_id"
        case reason
    }

    public init(stream: String, keyID: String, reason: String? = nil) {
        self.stream = stream
        self.keyID = keyID
        self.reason = reason
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stream = try c.decode(String.self, forKey: .stream)
        keyID = try c.decode(String.self, forKey: .keyID)
        reason = try c.decodeUnlessAbsent(String.self, forKey: .reason)
    }

    public func validate() throws(PayloadError) {
        let n = stream.utf8.count
        guard n >= 1, n <= 255 else {
            throw PayloadError(field: "stream", reason: "must be 1 to 255 bytes, is \(n)")
        }
        try PayloadRule.matches(keyID, "key_id", pattern: "^[0-9a-f]{16}$") { b in
            b.count == 16 && b.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
    }

    public static var example: StreamShredded {
        StreamShredded(stream: "task/T-9", keyID: "0123456789abcdef", reason: "erasure request ER-12")
    }
}
