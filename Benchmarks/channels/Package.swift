// swift-tools-version: 6.0
// The channel benchmark's driver, built in release against the package's DBus library.
// Run through run.sh, which builds it and peercollabd and makes the namespace lab.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "channel-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(name: "chanbench", dependencies: [.product(name: "DBus", package: mainPackage)])
    ]
)
