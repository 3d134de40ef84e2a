// swift-tools-version: 6.1

import PackageDescription

#if os(Linux)
import Glibc
#endif

/// How the `sluice` executable is linked on Linux, to keep less of it in memory (measured in
/// README, "Performance"; the static build went from 24 to 17 MiB resident):
/// - with lld, the functions a run uses are laid out together in the order of
///   `Sources/sluice/link-order.txt` (written by `Benchmarks/scripts/link_order.py`), so the
///   kernel's 64 KiB fault-around maps few windows of code. The file is a layout hint:
///   functions missing from it are placed after the listed ones.
/// - relative relocations are packed (DT_RELR), so start-up reads kilobytes of them instead of
///   megabytes. DT_RELR needs glibc 2.36 or later where the binary runs (Debian 12, Ubuntu
///   22.10, RHEL 10), so it is used only when the building machine has such a glibc.
/// - the static build does not export its symbols (`--static-swift-stdlib` asks for
///   `-export-dynamic`, whose 2 MB symbol tables the loader searched on every lookup). Nothing
///   looks Sluice's symbols up at run time; the Swift runtime finds its metadata through
///   registered sections (fully static Swift executables, which have no dynamic symbols at
///   all, run Foundation the same way). A no-op for the dynamic build. CI runs the end-to-end
///   suite against this build.
var compactCodeLayout: [LinkerSetting] {
    #if os(Linux)
    var text = [CChar](repeating: 0, count: 64)
    _ = confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count)  // "glibc 2.36"
    let name = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let version = name.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
    let packedRelocations = version.count >= 2 && (version[0], version[1]) >= (2, 36)
    var flags = [
        "-use-ld=lld",
        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/sluice/link-order.txt",
        "-Xlinker", "--no-warn-symbol-ordering",
        "-Xlinker", "--no-export-dynamic",
    ]
    if packedRelocations { flags += ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] }
    return [.unsafeFlags(flags, .when(platforms: [.linux]))]
    #else
    return []
    #endif
}

let package = Package(
    name: "sluice",
    // Linux only: the sources use epoll, signalfd, pipe2 and Glibc, and nothing is built or
    // tested on another system, so no other platform is declared.
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        // The library for building a `sluice` with sink and source types of one's own; its
        // public API is the extension API in Sources/SluiceKit/Extending and `Sluice`.
        .library(name: "SluiceKit", targets: ["SluiceKit"]),
        // Internal building blocks, products only so the nested Benchmarks package can measure
        // them; no API stability is promised for them.
        .library(name: "SluiceRing", targets: ["SluiceRing"]),
        .library(name: "SluiceCore", targets: ["SluiceCore"]),
        .library(name: "SluiceSinks", targets: ["SluiceSinks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Already in the graph through the HTTP client (swift-certificates); SHA-256 names an
        // archive file's events for `sluice replay`.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        // Locks, a condition lock and the monotonic clock, for everything off the event path
        // (and the ring's parking): the standard library and Glibc only.
        .target(name: "SluiceSync"),
        // What Foundation's full build would give the control plane (a JSON tree for API calls
        // and responses, trimming), on FoundationEssentials only: `import Foundation` links
        // ICU's 34 MB data table into the binary, so no module imports it.
        .target(name: "SluiceText"),
        // The lock-free ring at the core: standard library and Synchronization only.
        .target(name: "SluiceRing", dependencies: ["SluiceSync", "CLinux"]),
        // Events, framing, parsing, encoding, the pipeline and the Source/Sink contracts.
        .target(
            name: "SluiceCore",
            dependencies: ["SluiceRing", "SluiceSync", "CLinux", "CPCRE2", "CJSONBits", "CTextBits", .product(name: "Logging", package: "swift-log")]
        ),
        // The transforms between the sources and the ring (redact, where, sample, throttle,
        // dedupe, field steps), run by the pipeline through SluiceCore's `BatchTransforms`; the
        // field steps an encoder fuses into its writing (`FieldShaper`) stay in SluiceCore.
        .target(
            name: "SluiceTransforms",
            dependencies: ["SluiceCore", "SluiceSync"]
        ),
        // YAML layering, environment overrides, interpolation and typed, validated reading.
        .target(
            name: "SluiceConfig",
            dependencies: ["CYAML"]
        ),
        // What a source or sink type needs to be configured and registered: the registry's
        // vocabulary (each type declares its registration beside its configuration reading) and
        // the readers a source and a sink share (a program to run, a NATS connection), kept out
        // of SluiceConfig and SluiceNATS so neither depends on what it does not need.
        .target(
            name: "SluiceComponentConfig",
            dependencies: ["SluiceConfig", "SluiceCore", "SluiceNATS"]
        ),
        .target(
            name: "SluiceSources",
            dependencies: [
                "SluiceCore", "SluiceSync", "SluiceText", "SluiceConfig", "SluiceComponentConfig", "SluiceNATS", "CLinux", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The NATS client protocol and the JetStream API calls the `nats` sink and source need,
        // on swift-nio (no NATS client for Swift is among the packages Sluice builds with).
        .target(
            name: "SluiceNATS",
            dependencies: [
                "SluiceText",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Disk buffers between a sink's ring reader and the sink: segments, checksums, recovery.
        .target(
            name: "SluiceBuffer",
            dependencies: ["SluiceCore", "SluiceSync", "CZlib", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "SluiceSinks",
            dependencies: [
                "SluiceCore", "SluiceSync", "SluiceText", "SluiceConfig", "SluiceComponentConfig", "SluiceNATS", "CZlib", "CDeflate", "CLinux",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Assembly from configuration, the command line, signals and Sluice's own log.
        .target(
            name: "SluiceKit",
            dependencies: [
                "SluiceCore", "SluiceRing", "SluiceSync", "SluiceText", "SluiceConfig", "SluiceComponentConfig", "SluiceSources", "SluiceSinks", "SluiceBuffer",
                "SluiceTransforms", "CLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "sluice", dependencies: ["SluiceKit"], exclude: ["link-order.txt"], linkerSettings: compactCodeLayout
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Whole gzip members in one call, for the archive and request bodies (see
        // GzipMemberCompressor); zlib stays for streaming reads.
        .systemLibrary(name: "CDeflate", providers: [.apt(["libdeflate-dev"])]),
        // Linux headers the Glibc module leaves out (signalfd).
        .systemLibrary(name: "CLinux"),
        // SSE2 bit masks of a line's quotes, backslashes and control bytes for the JSON scanner
        // (header-only, so the scanner's loop inlines it).
        .systemLibrary(name: "CJSONBits"),
        // SSE2 spans of a plain line's prefix bytes and first word, for level guessing and
        // trace detection (header-only, inlined).
        .systemLibrary(name: "CTextBits"),
        // PCRE2 (Debian's libpcre2-dev): the regular expressions of `where`, alert rules and
        // multiline joining.
        .systemLibrary(name: "CPCRE2", providers: [.apt(["libpcre2-dev"])]),
        // libyaml (Debian's libyaml-dev): the configuration files' parser. Reached directly
        // rather than through a Swift YAML package, which imports Foundation and so links ICU's
        // data table (34 MB) into the binary.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // Test doubles shared by the test targets.
        .target(
            name: "SluiceTesting",
            dependencies: [
                "SluiceCore", "SluiceSync", "CLinux", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        .testTarget(name: "SluiceRingTests", dependencies: ["SluiceRing", "SluiceSync", "SluiceTesting"]),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "SluiceSync", "SluiceTesting"]),
        .testTarget(name: "SluiceTransformsTests", dependencies: ["SluiceTransforms", "SluiceCore", "SluiceSync", "SluiceTesting"]),
        .testTarget(name: "SluiceConfigTests", dependencies: ["SluiceConfig", "SluiceTesting"]),
        .testTarget(name: "SluiceTextTests", dependencies: ["SluiceText", "SluiceTesting"]),
        .testTarget(
            name: "SluiceSourcesTests",
            dependencies: ["SluiceSources", "SluiceConfig", "SluiceRing", "SluiceSync", "SluiceTesting"]
        ),
        .testTarget(
            name: "SluiceSinksTests",
            dependencies: ["SluiceSinks", "SluiceConfig", "SluiceSync", "SluiceTesting"]
        ),
        .testTarget(
            name: "SluiceNATSTests",
            dependencies: ["SluiceNATS", "SluiceTesting", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(name: "SluiceBufferTests", dependencies: ["SluiceBuffer", "SluiceCore", "SluiceSync", "SluiceTesting"]),
        .testTarget(name: "SluiceKitTests", dependencies: ["SluiceKit", "SluiceBuffer", "SluiceSync", "SluiceTesting"]),
        // A custom source and sink through the public API of the SluiceKit product, and nothing else
        // (SluiceTesting only for the tests' hang watchdog).
        .testTarget(name: "SluiceKitAPITests", dependencies: ["SluiceKit", "SluiceTesting"]),
        // Runs the built `sluice` binary as a user would.
        .testTarget(name: "SluiceEndToEndTests", dependencies: ["sluice", "SluiceTesting", "SluiceNATS", "SluiceSync"]),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
