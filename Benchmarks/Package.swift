// swift-tools-version: 6.2
import PackageDescription

/// The benchmark harness lives in its own package (swift-nio's layout) so the main build never compiles it.
/// It measures EventLog side by side with SQLite and plain files in one run: only ratios measured in the
/// same run are comparable (LIMITS.md: disk figures drift 10–25% between runs).
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "aibrain-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "aibrain", path: "..")
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .executableTarget(
            name: "aibrain-bench",
            dependencies: [
                "CSQLite",
                .product(name: "EventLog", package: "aibrain"),
                .product(name: "Trust", package: "aibrain"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
