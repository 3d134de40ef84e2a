// swift-tools-version: 6.1

// libFuzzer targets for Sluice's parsers, a package of its own so the main build never
// compiles them (they need -sanitize=fuzzer). See Tests/Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "SluiceFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "sluice", path: "../..")],
    targets: [
        .executableTarget(
            name: "SluiceFuzz",
            dependencies: [.product(name: "SluiceCore", package: "sluice")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--allow-multiple-definition"])]
        ),
    ]
)
