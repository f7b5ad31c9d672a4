// swift-tools-version: 6.0
// Benchmarks of peercollab's peer layer, built in release against the package's own
// products. Run through run.sh, which also builds peercollabd and the C yardsticks.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, so the product references use
// whatever the checkout of the main package is called.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "peer-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "peerbench",
            dependencies: [
                .product(name: "PeerSecurity", package: mainPackage),
                .product(name: "PeerProtocol", package: mainPackage),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Benchmarks/protocol/FrameThroughput.swift, through a symbolic link, so that it
        // needs no second release build of the package.
        .executableTarget(
            name: "frame-throughput",
            dependencies: [
                .product(name: "PeerProtocol", package: mainPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
