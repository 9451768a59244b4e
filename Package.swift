// swift-tools-version: 6.2
import PackageDescription

/// Our own targets build with warnings as errors; dependencies do not.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]
/// The replay hot path (payload scanner, projections) folds millions of events per second: dynamic
/// exclusivity checks on class properties cost ~8% there (perf), and the code keeps one owner per engine.
let hotPath: [SwiftSetting] =
    strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "aibrain",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "StorageTesting", targets: ["StorageTesting"]),
        .library(name: "BrainEvents", targets: ["BrainEvents"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Trust", targets: ["Trust"]),
        .library(name: "Shipping", targets: ["Shipping"]),
        .library(name: "AIBrainCLI", targets: ["AIBrainCLI"]),
        // The parsers' fuzzing entries, for FuzzTesting/ (libFuzzer) and the corpus replay in `make test`.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
        .executable(name: "aibrain", targets: ["aibrain"]),
        .executable(name: "aibrain-storage", targets: ["aibrain-storage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .target(
            name: "EventLog",
            dependencies: [
                "CLZ4", "CXXHash",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Trust",
            dependencies: ["EventLog", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "BrainEvents",
            dependencies: ["EventLog", "CXXHash", .product(name: "Yams", package: "Yams")],
            swiftSettings: hotPath
        ),
        .target(
            name: "Projections",
            dependencies: ["EventLog", "BrainEvents", "CXXHash", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: hotPath
        ),
        .target(name: "Shipping", dependencies: ["EventLog", "Trust"], swiftSettings: strict),
        .target(
            name: "AIBrainCLI",
            dependencies: [
                "EventLog", "BrainEvents", "Projections", "Shipping", "Trust",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "aibrain", dependencies: ["AIBrainCLI"], swiftSettings: strict,
            // Agents call the CLI once per event: a statically linked Swift runtime and Foundation start in
            // ~3 ms instead of ~11 ms (the dynamic loader's relocations of libFoundation and ICU).
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-static-stdlib",
                        // Static archives carry no autolink entries for the libraries they use in turn.
                        "-Xlinker", "--start-group", "-Xlinker", "-lFoundation", "-Xlinker", "-lFoundationEssentials",
                        "-Xlinker", "-lFoundationInternationalization", "-Xlinker", "-lCoreFoundation",
                        "-Xlinker", "-l_FoundationICU", "-Xlinker", "-l_FoundationCollections",
                        "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-lswiftSynchronization",
                        "-Xlinker", "--end-group",
                    ], .when(platforms: [.linux]))
            ]
        ),
        .target(name: "StorageTesting", dependencies: ["EventLog"], swiftSettings: strict),
        .target(
            name: "FuzzTargets",
            dependencies: ["AIBrainCLI", "BrainEvents", "EventLog", "Projections", "Shipping", "Trust"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "aibrain-storage",
            dependencies: ["EventLog", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "StorageTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BrainEventsTests",
            dependencies: ["BrainEvents", "EventLog", "StorageTesting"],
            exclude: ["schema_batch.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "BrainEvents", "EventLog", "StorageTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TrustTests",
            dependencies: ["Trust", "EventLog", "StorageTesting", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ShippingTests",
            dependencies: ["Shipping", "EventLog", "StorageTesting"],
            exclude: ["schema_check.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AIBrainCLITests",
            dependencies: [
                "AIBrainCLI", "BrainEvents", "EventLog", "Projections", "Shipping", "StorageTesting", "Trust",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["schema_check.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "AIBrainCLI", "BrainEvents", "EventLog", "FuzzTargets", "Projections", "Shipping", "StorageTesting",
                "Trust",
            ],
            swiftSettings: strict
        ),
    ]
)
