// swift-tools-version: 6.0
// Presence benchmarks (issue 6): a presence change to PropertiesChanged on another daemon,
// and fan-out to 100 simulated subscribers. Built in release against the package's own
// products by run.sh, which also builds peercollabd.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder; the checkout may itself be called
// "presence", like this package, so it is reached through a link with a name of its own.
let mainPackage = "peercollab-root"

let package = Package(
    name: "presence-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "peercollab-root"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "presencebench",
            dependencies: [
                .product(name: "DBus", package: mainPackage),
                .product(name: "PeerSecurity", package: mainPackage),
                .product(name: "PeerProtocol", package: mainPackage),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
