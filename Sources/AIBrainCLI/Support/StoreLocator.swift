import ArgumentParser
import EventLog
import Foundation

/// `--store` for every command that works on a store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: a .aibrain directory or the directory holding one.",
            discussion:
                "Default: $AIBRAIN_STORE, else the nearest .aibrain with a store.json found by walking up from the working directory (like git).",
            valueName: "path"))
    var store: String?

    /// The `.aibrain` directory to use.
    func locate() throws -> String {
        try StoreLocator.locate(
            explicit: store, environment: ProcessInfo.processInfo.environment,
            workingDirectory: StoreLocator.workingDirectory())
    }
}

/// Finds the store like git finds `.git`: `--store`, then `AIBRAIN_STORE`, then the nearest `.aibrain`
/// holding a `store.json` in the working directory or above it. A `.aibrain` without `store.json` is older
/// file-based memory (ARCHITECTURE.md): it is not a store, and the search goes on above it.
enum StoreLocator {
    static func locate(explicit: String?, environment: [String: String], workingDirectory: String) throws -> String {
        let fs = PosixFileSystem()
        func isStore(_ dir: String) -> Bool { (try? fs.stat(dir + "/store.json")) != nil }
        if let given = explicit ?? environment["AIBRAIN_STORE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let source = explicit != nil ? "--store" : "AIBRAIN_STORE"
            let path = absolute(given, in: workingDirectory)
            if isStore(path) { return path }
            if isStore(path + "/.aibrain") { return path + "/.aibrain" }
            throw CLIError(
                .error, code: EventLogError.Code.notAStore.rawValue,
                "\(source) \(given): no store there (no store.json in it or in its .aibrain)",
                hint: "create one with `aibrain init`, or point \(source) at an existing store")
        }
        var dir = absolute(workingDirectory, in: "/")
        var legacy: String?
        while true {
            let candidate = (dir == "/" ? "" : dir) + "/.aibrain"
            if isStore(candidate) { return candidate }
            if legacy == nil, let st = try? fs.stat(candidate), st.isDirectory { legacy = candidate }
            if dir == "/" { break }
            dir = directoryName(of: dir)
        }
        throw CLIError(
            .error, code: EventLogError.Code.notAStore.rawValue,
            "no aibrain store in \(workingDirectory) or any directory above it"
                + (legacy.map { " (\($0) holds older file-based memory, not a store)" } ?? ""),
            hint: "run `aibrain init` in the project's root, or give --store / AIBRAIN_STORE")
    }

    /// getcwd(3): the process's working directory (the walk up starts there).
    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func absolute(_ path: String, in base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for p in joined.split(separator: "/") {
            if p == "." { continue }
            if p == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }
}
