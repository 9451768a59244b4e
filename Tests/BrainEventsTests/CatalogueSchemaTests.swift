import Foundation
import Testing

@testable import BrainEvents
@testable import EventLog

/// The event catalogue has three descriptions of every payload: the schema files in `schemas/events/`,
/// the Codable types (decode + `validate()`), and the embedded copy of the schemas the binary validates
/// with. These tests hold them to one table, `fixtures/events/examples.jsonl`, with Python's `jsonschema`
/// (Draft 2020-12) as the referee, and pin that the types and the schemas list the same fields.
@Suite struct CatalogueSchemaTests {
    /// The package root: three levels above this file (`Tests/BrainEventsTests/CatalogueSchemaTests.swift`).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let schemaDirectory = root + "/schemas/events"
    static let examplesFile = root + "/fixtures/events/examples.jsonl"

    struct Example: CustomStringConvertible {
        var name: String
        var type: String
        var valid: Bool
        /// The `data` member's bytes exactly as the table writes them (`2.0` stays `2.0`).
        var data: [UInt8]
        var description: String { name }
    }

    /// One row of the table, or one payload type's encoded `example` (which must be valid).
    static func examples() throws -> [Example] {
        let text = try String(contentsOfFile: examplesFile, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let members = try JSONScanner.members(of: Array(line.utf8))
            func member(_ key: String) -> ArraySlice<UInt8>? { members.first { $0.key == key }?.value }
            let name = try #require(member("name").flatMap { JSONScanner.unescape($0) }, "\(line)")
            let type = try #require(member("type").flatMap { JSONScanner.unescape($0) }, "\(name): no type")
            let valid = try #require(member("valid").map { String(decoding: $0, as: UTF8.self) }, "\(name)")
            let data = try #require(member("data"), "\(name): no data")
            #expect(valid == "true" || valid == "false", "\(name): valid must be true or false")
            return Example(name: name, type: type, valid: valid == "true", data: Array(data))
        }
    }

    /// Every payload type's `example`, encoded by JSONEncoder, as a row that must be valid.
    static func encodedTypeExamples() throws -> [Example] {
        try PayloadTypes.all.map { type in
            Example(
                name: "example:\(type.eventType)", type: type.eventType, valid: true,
                data: Array(try JSONEncoder().encode(type.example)))
        }
    }

    static func schemaFileTypes() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: schemaDirectory)
            .filter { $0.hasSuffix(EventSchemas.fileSuffix) }
            .map { String($0.dropLast(EventSchemas.fileSuffix.count)) }.sorted()
    }

    /// A schema file's top-level `properties` names and `required` list.
    static func schemaFields(_ type: String) throws -> (properties: Set<String>, required: Set<String>) {
        let data = try Data(contentsOf: URL(fileURLWithPath: schemaDirectory + "/" + type + EventSchemas.fileSuffix))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any], "\(type): no properties")
        let required = schema["required"] as? [String] ?? []
        return (Set(properties.keys), Set(required))
    }

    /// Decode + validate: the Codable side's verdict, with the reason when it refuses.
    static func codableVerdict(_ e: Example) -> (Bool, String) {
        guard let type = PayloadTypes.type(for: e.type) else { return (false, "no payload type for \(e.type)") }
        do {
            _ = try type.decodeValidated(from: e.data)
            return (true, "")
        } catch {
            return (false, "\(error)")
        }
    }

    // MARK: The table

    @Test func tableHasValidAndInvalidExamplesOfEveryType() throws {
        let all = try Self.examples()
        #expect(Set(all.map(\.name)).count == all.count, "example names must be unique")
        let types = Set(PayloadTypes.all.map { $0.eventType })
        for e in all { #expect(types.contains(e.type), "\(e.name): \(e.type) is not a catalogue type") }
        for t in types.sorted() {
            #expect(all.filter { $0.type == t && $0.valid }.count >= 2, "\(t): fewer than 2 valid examples")
            #expect(all.filter { $0.type == t && !$0.valid }.count >= 2, "\(t): fewer than 2 invalid examples")
        }
    }

    /// The table is realistic but personal-data free: the standard PII gate finds nothing in it.
    @Test func tableCarriesNoPersonalData() throws {
        for e in try Self.examples() + Self.encodedTypeExamples() {
            let finding = e.data.withUnsafeBufferPointer { PIIGate.standard.payloadFinding($0) }
            #expect(finding == nil, "\(e.name): \(finding?.description ?? "")")
        }
    }

    /// (a) Python's jsonschema, in one process for the whole table and every type's encoded `example`.
    @Test func jsonschemaAgreesWithTheTable() throws {
        let rows = try Self.examples() + Self.encodedTypeExamples()
        var input: [UInt8] = []
        for e in rows {
            input += Array(#"{"name":"#.utf8)
            JSONScanner.quote(e.name, into: &input)
            input += Array(#","type":"#.utf8)
            JSONScanner.quote(e.type, into: &input)
            input += Array(#","data":"#.utf8) + e.data + Array("}\n".utf8)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.root + "/Tests/BrainEventsTests/schema_batch.py", Self.schemaDirectory]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        // The script reads all of its input before it writes, and its output is a few KiB: no deadlock.
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let out = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(
            p.terminationStatus == 0,
            """
            schema_batch.py exited \(p.terminationStatus) (127: no python3 on PATH; 3: no jsonschema, run \
            `make deps`): \(err)
            """)
        var verdicts: [String: (Bool, String)] = [:]
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(parts.count == 3, "bad output line: \(line)")
            verdicts[String(parts[0])] = (parts[1] == "true", String(parts[2]))
        }
        #expect(verdicts.count == rows.count)
        for e in rows {
            let v = try #require(verdicts[e.name], "\(e.name): no verdict from jsonschema")
            #expect(v.0 == e.valid, "\(e.name): jsonschema says \(v.0 ? "valid" : "invalid: \(v.1)")")
        }
    }

    /// (b) SchemaValidator, on the schema files.
    @Test func schemaValidatorAgreesWithTheTable() throws {
        let validators = try EventSchemas.load(directory: Self.schemaDirectory)
        for e in try Self.examples() + Self.encodedTypeExamples() {
            let validator = try #require(validators[e.type], "\(e.name): no schema for \(e.type)")
            let problems = validator.validate(payload: e.data)
            #expect(problems.isEmpty == e.valid, "\(e.name): SchemaValidator says \(problems)")
            if !e.valid { #expect(problems.allSatisfy { $0.hasPrefix("data") }, "\(e.name): \(problems)") }
        }
    }

    /// (c) JSONDecoder + `validate()`.
    @Test func codableAgreesWithTheTable() throws {
        for e in try Self.examples() {
            let (accepted, reason) = Self.codableVerdict(e)
            #expect(
                accepted == e.valid, "\(e.name): decode + validate \(accepted ? "accepts it" : "refuses it: \(reason)")"
            )
        }
    }

    // MARK: Types and schema files list the same things

    @Test func everySchemaFileHasAPayloadTypeAndViceVersa() throws {
        let files = try Self.schemaFileTypes()
        let types = PayloadTypes.all.map { $0.eventType }
        #expect(Set(types).count == types.count, "PayloadTypes.all lists a type twice")
        #expect(files == types.sorted())
        let validators = try EventSchemas.load(directory: Self.schemaDirectory)
        for type in PayloadTypes.all {
            let v = try #require(validators[type.eventType])
            #expect(
                v.schemaID == "https://aibrain.dev/schemas/events/\(type.eventType).v\(type.typeVersion).schema.json")
            #expect(v.title == "\(type.eventType) v\(type.typeVersion) payload")
        }
    }

    /// Each fully populated `example` encodes exactly the schema's properties: so the Codable type and the
    /// schema name the same fields, and no required field is optional in Swift.
    @Test(arguments: PayloadTypes.all.map { $0.eventType })
    func exampleEncodesTheSchemaFields(eventType: String) throws {
        let type = try #require(PayloadTypes.type(for: eventType))
        let encoded = try JSONEncoder().encode(type.example)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        let keys = Set(object.keys)
        let (properties, required) = try Self.schemaFields(eventType)
        #expect(keys.subtracting(properties).isEmpty, "encoded but not in the schema: \(keys.subtracting(properties))")
        #expect(required.subtracting(keys).isEmpty, "required but not encoded: \(required.subtracting(keys))")
        #expect(
            properties.subtracting(keys).isEmpty, "in the schema, not in the example: \(properties.subtracting(keys))")
        // A round trip changes nothing.
        let decoded = try type.decodeValidated(from: Array(encoded))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(decoded) == encoder.encode(type.example))
    }

    /// Missing required fields, one at a time, are refused by decoding (not only by the schema).
    @Test(arguments: PayloadTypes.all.map { $0.eventType })
    func decodingRefusesAMissingRequiredField(eventType: String) throws {
        let type = try #require(PayloadTypes.type(for: eventType))
        let encoded = try JSONEncoder().encode(type.example)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        for field in try Self.schemaFields(eventType).required.sorted() {
            var without = object
            without[field] = nil
            let bytes = Array(try JSONSerialization.data(withJSONObject: without))
            #expect(throws: DecodingError.self, "\(eventType) without \(field)") {
                try type.decodeValidated(from: bytes)
            }
        }
    }

    // MARK: The embedded copy

    @Test func embeddedSchemasAreTheFilesByteForByte() throws {
        let regenerate = "run `python3 schemas/events/embed.py` to regenerate EmbeddedSchemas.swift"
        #expect(EmbeddedSchemas.byType.keys.sorted() == (try Self.schemaFileTypes()), "\(regenerate)")
        for type in try Self.schemaFileTypes() {
            let file = try Data(contentsOf: URL(fileURLWithPath: Self.schemaDirectory + "/\(type).schema.json"))
            let embedded = EmbeddedSchemas.byType[type].map { Array($0.utf8) }
            let same = embedded == Array(file)
            #expect(same, "\(type): the embedded copy differs from the file; \(regenerate)")
        }
        #expect(EventSchemas.embedded.count == EmbeddedSchemas.byType.count)
        for e in try Self.examples() {
            #expect(EventSchemas.embedded[e.type]?.validate(payload: e.data).isEmpty == e.valid, "\(e.name)")
        }
    }

    // MARK: SchemaValidator details

    static func validator(_ schema: String) throws -> SchemaValidator {
        try SchemaValidator(schemaJSON: Array(schema.utf8))
    }

    /// JSONSerialization returns booleans and numbers as NSNumber, and on Linux `NSNumber(1) as? Bool`
    /// succeeds: the validator must still tell `true` from `1`.
    @Test(arguments: [
        ("true", "boolean"), ("false", "boolean"), ("0", "integer"), ("1", "integer"), ("1.0", "integer"),
        ("-1", "integer"), ("18446744073709551615", "integer"), ("0.5", "number"), ("1e2", "integer"),
        ("\"1\"", "string"), ("null", "null"), ("[]", "array"), ("{}", "object"),
    ])
    func booleansAreNotNumbers(json: String, type: String) throws {
        let all = ["null", "boolean", "object", "array", "number", "string", "integer"]
        for candidate in all {
            let v = try Self.validator(#"{"type": "\#(candidate)"}"#)
            let expected = candidate == type || (candidate == "number" && type == "integer")
            #expect(v.validate(payload: Array(json.utf8)).isEmpty == expected, "\(json) as \(candidate)")
        }
    }

    @Test func problemsNameThePathAndCutLongStrings() throws {
        let v = try #require(EventSchemas.embedded["session.checkpointed"])
        #expect(
            v.validate(payload: Array(#"{"iteration": 1, "verdict": "DONE"}"#.utf8))
                == [#"data.verdict: "DONE" is not one of PASS, FAIL, PARTIAL, BLOCKED"#])
        #expect(
            v.validate(payload: Array(#"{"iteration": -1}"#.utf8)) == [
                "data.verdict: required but missing", "data.iteration: -1 is less than the minimum 0",
            ])
        let long = String(repeating: "x", count: 300)
        let problems = v.validate(
            payload: Array(
                #"{"iteration": 0, "verdict": "PASS", "files_touched": ["a", 7], "branch": "\#(long) y"}"#.utf8))
        #expect(problems.contains("data.files_touched[1]: 7 is not of type string"))
        let branch = try #require(problems.first { $0.hasPrefix("data.branch:") })
        #expect(branch.count < 160, "\(branch)")
        #expect(branch.hasPrefix("data.branch: \"" + String(repeating: "x", count: 40) + "…\" does not match"))
        #expect(v.validate(payload: Array("[1]".utf8)) == ["data: an array is not of type object"])
        #expect(v.validate(payload: Array("{".utf8)) == ["data: not valid JSON"])
    }

    @Test func theOtherKeywordsWork() throws {
        let v = try Self.validator(
            #"""
            {"type": "object", "additionalProperties": false, "required": ["a"],
             "properties": {"a": {"const": 3}, "b": {"type": "array", "minItems": 2, "items": {"maximum": 5}},
                            "odd key": {"type": ["string", "null"], "maxLength": 2}}}
            """#)
        #expect(v.validate(payload: Array(#"{"a": 3.0, "b": [1, 5], "odd key": null}"#.utf8)) == [])
        #expect(
            v.validate(payload: Array(#"{"a": 4, "b": [6], "odd key": "abc", "c": true}"#.utf8)) == [
                "data.a: 4 is not 3", "data.b: an array of 1 items has fewer than 2",
                "data.b[0]: 6 is greater than the maximum 5",
                #"data["odd key"]: "abc" is longer than 2 characters (3)"#,
                "data.c: additional property not allowed",
            ])
    }

    @Test(arguments: [
        #"{"anyOf": [{"type": "string"}]}"#, #"{"additionalProperties": {"type": "string"}}"#,
        ##"{"$ref": "#/$defs/missing"}"##, #"{"$ref": "other.json"}"#, #"{"type": "text"}"#, #"{"pattern": "("}"#,
        #"{"minLength": -1}"#, #"{"properties": {"a": {"format": "date"}}}"#, "[]", "{",
    ])
    func unsupportedOrBrokenSchemasAreRefused(schema: String) {
        #expect(throws: SchemaError.self) { try Self.validator(schema) }
    }

    // MARK: Payload details

    @Test func nullIsAValueForAnyJSONFieldsAndAnErrorElsewhere() throws {
        let s = try SessionCheckpointed.decodeValidated(
            from: Array(#"{"iteration": 0, "verdict": "PASS", "state": null}"#.utf8))
        #expect(s.state == .null)
        let absent = try SessionCheckpointed.decodeValidated(from: Array(#"{"iteration": 0, "verdict": "PASS"}"#.utf8))
        #expect(absent.state == nil)
        #expect(throws: DecodingError.self) {
            try SessionCheckpointed.decodeValidated(
                from: Array(#"{"iteration": 0, "verdict": "PASS", "summary": null}"#.utf8))
        }
        let t = try WorkItemTransitionedV1.decodeValidated(
            from: Array(#"{"work_item_id": "WI-7", "from": "pending", "to": "claimed", "error": null}"#.utf8))
        #expect(t.error == nil && t.from == .pending && t.to == .claimed)
    }

    @Test func validateNamesTheFieldAndTheRule() {
        var leased = WorkItemLeased.example
        leased.ttlMs = 0
        #expect(throws: PayloadError(field: "ttl_ms", reason: "0 is not in 1...604800000")) { try leased.validate() }
        var started = SessionStarted.example
        started.sessionID = "S " + String(repeating: "y", count: 100)
        do {
            try started.validate()
            Issue.record("a bad id passed validate()")
        } catch {
            #expect(error.field == "session_id")
            #expect(error.description.hasPrefix("data.session_id: \"S " + String(repeating: "y", count: 38) + "…\""))
        }
        var usage = UsageRecorded.example
        usage.usd = .decimal("1.")
        #expect(throws: PayloadError.self) { try usage.validate() }
        usage.usd = .number(-1)
        #expect(throws: PayloadError(field: "usd", reason: "-1 is less than the minimum 0")) { try usage.validate() }
    }

    @Test func jsonValueKeepsNumbersAsTextAndIgnoresMemberOrderInEquality() throws {
        let v = try JSONDecoder().decode(
            JSONValue.self, from: Data(#"{"b": [1, 0.25, true, null, "x"], "a": {}}"#.utf8))
        #expect(
            v
                == .object([
                    ("a", .object([])),
                    ("b", .array([.number("1"), .number("0.25"), .bool(true), .null, .string("x")])),
                ]))
        #expect(v["b"] == .array([.number("1"), .number("0.25"), .bool(true), .null, .string("x")]))
        #expect(JSONValue.object([("a", .null), ("b", .null)]) == .object([("b", .null), ("a", .null)]))
        #expect(JSONValue.object([("a", .null)]) != .object([("a", .bool(false))]))
        let encoded = try JSONEncoder().encode(
            JSONValue.array([.number("-3"), .number("0.5"), .number("18446744073709551615")]))
        #expect(String(decoding: encoded, as: UTF8.self) == "[-3,0.5,18446744073709551615]")
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(JSONValue.number("twelve")) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JSONObject.self, from: Data("[1]".utf8)) }
    }
}
