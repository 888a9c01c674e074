// swift-tools-version:6.2
// Tests a Lambda runtime and an extension with lambda-sim as a library, the way a user's package would: it depends
// on lambda-sim by path and uses nothing but the public `LambdaSim` API.
import PackageDescription

let package = Package(
    name: "RuntimeTests",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "lambda-sim", path: "../..")
    ],
    targets: [
        .testTarget(
            name: "RuntimeTests",
            dependencies: [.product(name: "LambdaSim", package: "lambda-sim")],
            swiftSettings: [.treatAllWarnings(as: .error)]
        )
    ]
)
