// swift-tools-version: 6.2
// libFuzzer targets over aibrain's parsers (the entries live in the main package's FuzzTargets library, which
// `make test` also replays over fixtures/fuzz/). Build and run with `make fuzz` from the repository root:
//   swift build --package-path FuzzTesting --scratch-path .build-fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
// (../shared/TOOLCHAIN.md: the only command that gives both coverage and ASan).
import Foundation
import PackageDescription

/// The main package's identity is its directory's name, which depends on where it was cloned.
let parent = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
    .lowercased()

let targets = [
    "FuzzSegmentHeader",
    "FuzzOpenSegment",
    "FuzzRecord",
    "FuzzSealedSegment",
    "FuzzLz4",
    "FuzzCursor",
    "FuzzEnvelopeJson",
    "FuzzHandoff",
    "FuzzManifest",
    "FuzzSignedNote",
    "FuzzHead",
    "FuzzProof",
    "FuzzContracts",
    "FuzzStoreFiles",
    "FuzzLegacyKo",
    "FuzzLegacyDecisions",
    "FuzzLegacySession",
]

let package = Package(
    name: "FuzzTesting",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: targets.map {
        .executableTarget(name: $0, dependencies: [.product(name: "FuzzTargets", package: parent)])
    }
)
