import Foundation
import StorageTesting
import Testing

/// Every durable file operation goes through the `FileSystem` seam, so the crash model tests all of it.
/// `Sources/` must not use FileManager, `Data.write`/`String.write`, or stdio `fopen` for files.
@Suite struct SourceHygieneTests {
    static let forbidden: [(pattern: String, why: String)] = [
        ("FileManager", "use the FileSystem seam (EventLog/FileSystem)"),
        (".write(to:", "Data/String.write bypasses fsync: use FileSystem.writeFileAtomically"),
        (".write(toFile:", "String.write bypasses fsync: use FileSystem.writeFileAtomically"),
        ("fopen(", "stdio files bypass the seam"),
        ("FileHandle(forWritingAtPath", "use the FileSystem seam"),
        ("FileHandle(forUpdatingAtPath", "use the FileSystem seam"),
    ]

    @Test func sourcesUseOnlyTheFileSystemSeamForFiles() throws {
        let root = packageRoot + "/Sources"
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        var files = 0
        var violations: [String] = []
        for case let rel as String in enumerator where rel.hasSuffix(".swift") {
            files += 1
            let text = try String(contentsOfFile: root + "/" + rel, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                for f in Self.forbidden where code.contains(f.pattern) {
                    violations.append("Sources/\(rel):\(n + 1): \(f.pattern) — \(f.why)")
                }
            }
        }
        #expect(files > 20, "found only \(files) source files under \(root)")
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }
}
