// swift-tools-version: 6.1

// Micro benchmarks (package-benchmark), kept in their own package so the main build and
// `swift test` never compile them. Run from this directory: `swift package benchmark`.
import PackageDescription

let package = Package(
    name: "sluice-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: the checkout folder may have any name.
        .package(name: "sluice", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // Only for OTLPBenchmarks: the generated-code encoder the hand-written one is compared to.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(
            name: "BenchmarkSupport",
            dependencies: [.product(name: "Benchmark", package: "benchmark"), .product(name: "SluiceCore", package: "sluice")],
            path: "Benchmarks/BenchmarkSupport"
        ),
        benchmark("RingBenchmarks", using: ["SluiceRing"]),
        benchmark("ParsingBenchmarks", using: ["SluiceCore"]),
        benchmark("SinkBenchmarks", using: ["SluiceCore", "SluiceSinks"]),
        benchmark("ExpressionBenchmarks", using: ["SluiceCore", "SluiceSinks"]),
        // Generated from Benchmarks/Proto (protoc 3.21 with protoc-gen-swift 1.39.0), committed.
        benchmark("OTLPBenchmarks", using: ["SluiceCore", "SluiceSinks"], more: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
    ]
)

/// One package-benchmark executable in `Benchmarks/<name>`, using Sluice's `products`.
func benchmark(_ name: String, using products: [String], more: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["BenchmarkSupport", .product(name: "Benchmark", package: "benchmark")]
            + products.map { .product(name: $0, package: "sluice") } + more,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}
