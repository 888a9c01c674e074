// swift-tools-version:6.2
import PackageDescription

/// Settings shared by every Swift target: Swift 6 mode, warnings as errors. Release builds drop the run-time
/// exclusivity checks, which cost about 6 % of the simulator's own CPU per warm invoke (`perf record` on the
/// release binary); debug builds, which every test runs, keep them and trap on a violation.
let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

/// swift-collections' `Deque`, for the targets that keep first-in first-out queues.
let deque: Target.Dependency = .product(name: "DequeModule", package: "swift-collections")

let package = Package(
    name: "lambda-sim",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lambda-sim", targets: ["lambda-sim"]),
        .executable(name: "lambda-sim-fixture", targets: ["lambda-sim-fixture"]),
        .library(name: "LambdaSim", targets: ["LambdaSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `Deque`, the ring buffer behind every first-in first-out queue.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // `swift package generate-documentation --target LambdaSim` (the DocC catalog in Sources/LambdaSim).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),
        .target(name: "SimUV", dependencies: ["CLibUV", "SimCore"], swiftSettings: strict),
        .target(name: "SimHTTP", dependencies: ["SimUV", "CHTTPParser", deque], swiftSettings: strict),
        .target(name: "SimCore", swiftSettings: strict),
        // The pure domain: what the simulator decides, as values and state machines. It may import SimCore, the
        // standard library and DequeModule only (scripts/test.sh checks it): no socket, process, clock or random source.
        .target(name: "SimDomain", dependencies: ["SimCore", deque], swiftSettings: strict),
        .target(
            name: "SimConfig", dependencies: ["SimCore", "SimDomain", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "SimTelemetry", dependencies: ["SimCore", "SimDomain", "SimHTTP", "SimUV", deque],
            swiftSettings: strict),
        .target(name: "SimLoad", dependencies: ["SimCore", "SimHTTP", "SimUV", deque], swiftSettings: strict),
        .target(
            name: "SimSandbox", dependencies: ["SimCore", "SimDomain", "SimHTTP", "SimTelemetry", "SimUV", deque],
            swiftSettings: strict),
        .target(
            name: "SimOrchestrator",
            dependencies: ["SimCore", "SimDomain", "SimSandbox", "SimUV", deque],
            swiftSettings: strict
        ),
        .target(
            name: "SimServer",
            dependencies: ["SimCore", "SimDomain", "SimHTTP", "SimOrchestrator", "SimSandbox", "SimUV"],
            swiftSettings: strict
        ),
        .target(
            name: "LambdaSim",
            dependencies: [
                "SimConfig", "SimCore", "SimDomain", "SimHTTP", "SimOrchestrator", "SimSandbox", "SimServer", "SimUV",
                deque,
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "lambda-sim",
            dependencies: [
                "LambdaSim",
                "SimCore",
                "SimDomain",
                "SimLoad",
                "SimUV",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Linked statically: it starts in about a third of the time, which cold starts and scale-out measure.
        .executableTarget(
            name: "lambda-sim-fixture", swiftSettings: strict,
            // A static executable: no dynamic loader, relocations or shared-library mappings at start-up, so a
            // sandbox of the fixture starts in about half the time (and scale-out measures the simulator more
            // than the loader). lld, from the toolchain, links it; its warnings are silenced because glibc warns
            // about every static use of getaddrinfo and dlopen (the fixture resolves `localhost` through NSS,
            // which needs this machine's glibc at run time: the fixture is built where it runs).
            linkerSettings: [.unsafeFlags(["-static-executable", "-use-ld=lld", "-Xlinker", "--no-warnings"])]),
        .testTarget(name: "SimUVTests", dependencies: ["SimCore", "SimUV"], swiftSettings: strict),
        .testTarget(name: "SimHTTPTests", dependencies: ["SimHTTP", "SimUV"], swiftSettings: strict),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"], swiftSettings: strict),
        .testTarget(
            name: "SimConfigTests", dependencies: ["SimConfig", "SimCore", "SimDomain"], swiftSettings: strict),
        .testTarget(
            name: "SimTelemetryTests", dependencies: ["SimCore", "SimDomain", "SimHTTP", "SimTelemetry", "SimUV"],
            swiftSettings: strict),
        .testTarget(
            name: "SimSandboxTests", dependencies: ["SimCore", "SimDomain", "SimSandbox", "SimUV"],
            swiftSettings: strict),
        .testTarget(name: "SimDomainTests", dependencies: ["SimCore", "SimDomain"], swiftSettings: strict),
        .testTarget(name: "SimServerTests", dependencies: ["SimCore", "SimServer"], swiftSettings: strict),
        .testTarget(name: "SimLoadTests", dependencies: ["SimCore", "SimLoad"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["LambdaSim", "SimCore", "SimDomain", "SimHTTP", "SimSandbox", "SimUV"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)

// Benchmarks (ordo-one/benchmark) are declared only when asked for, so normal builds and CI stay light:
//   LAMBDA_SIM_BENCHMARKS=1 swift package benchmark     (see Benchmarks/README.md)
if Context.environment["LAMBDA_SIM_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    let benchmark: [Target.Dependency] = [.product(name: "Benchmark", package: "benchmark")]
    let plugin: [Target.PluginUsage] = [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    package.targets += [
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport", swiftSettings: strict),
        .target(name: "CHeapUsage", path: "Benchmarks/CHeapUsage"),
        // The C floor of a warm invoke (`perf-floor relay`), a C echo runtime and a keep-alive invoker, in one
        // executable that the benchmarks start as a child process; scripts/measure-cpu.sh compiles the same files.
        .executableTarget(name: "perf-floor", path: "Benchmarks/Floor"),
        .executableTarget(
            name: "FreezeBenchmarks", dependencies: benchmark + ["SimCore", "SimDomain", "SimSandbox", "SimUV"],
            path: "Benchmarks/FreezeBenchmarks", plugins: plugin),
        .executableTarget(
            name: "InvokeBenchmarks",
            dependencies: benchmark + ["BenchmarkSupport", "LambdaSim", "SimCore", "SimHTTP", "SimUV"],
            path: "Benchmarks/InvokeBenchmarks", plugins: plugin),
        .executableTarget(
            name: "OrchestratorBenchmarks",
            dependencies: benchmark + ["BenchmarkSupport", "CHeapUsage", "LambdaSim", "SimHTTP", "SimUV"],
            path: "Benchmarks/OrchestratorBenchmarks", plugins: plugin),
    ]
}

// Fuzz targets (libFuzzer) are declared only when asked for; scripts/fuzz.sh builds and runs them:
//   LAMBDA_SIM_FUZZ=1 swift build --product FuzzJSON -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz
if Context.environment["LAMBDA_SIM_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport", swiftSettings: strict))
    for (name, dependencies) in [
        ("FuzzHTTPRequest", ["SimHTTP"]), ("FuzzHTTPResponse", ["SimHTTP"]), ("FuzzJSON", ["SimCore"]),
        ("FuzzConfig", ["SimConfig"]), ("FuzzEventStream", ["SimCore"]),
    ] {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: (dependencies + ["FuzzSupport"]).map { .target(name: $0) },
                path: "Fuzz/\(name)",
                swiftSettings: strict))
    }
}
