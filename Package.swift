// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "peercollab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "peercollabd", targets: ["peercollabd"]),
        .executable(name: "peercollabctl", targets: ["peercollabctl"]),
        .library(name: "DBus", targets: ["DBus"]),
        .library(name: "PeerSecurity", targets: ["PeerSecurity"]),
        .library(name: "PeerProtocol", targets: ["PeerProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // MARK: - System libraries

        .systemLibrary(name: "CDBus", pkgConfig: "dbus-1", providers: [.apt(["libdbus-1-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),

        // MARK: - Libraries that know nothing of peers

        .target(name: "DBus", dependencies: ["CDBus"]),
        .target(
            name: "Systemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]
        ),

        // The daemon's executors and signal handling, which keep libdispatch out of it.
        .target(name: "DaemonRuntime"),

        // The D-Bus API's vocabulary (bus name, paths, interfaces, property and error names),
        // shared by the daemon, the command line and the tests; it depends on nothing.
        .target(name: "PeerCollabAPI"),

        // MARK: - Peer identity and the wire

        .target(
            name: "PeerSecurity",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PeerProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),

        // MARK: - Sessions with peers

        // Everything about connections, sans I/O (events in, actions out, time passed in):
        // links, dials, staleness, floods, requests in flight, application channels.
        .target(name: "PeerSessions", dependencies: ["PeerProtocol"]),

        // MARK: - Finding peers

        .target(
            name: "Discovery",
            dependencies: [
                "DBus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: - The domain

        .target(
            name: "Collaboration",
            dependencies: [
                "PeerSecurity", "PeerProtocol", "PeerSessions", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: - Programs

        .executableTarget(
            name: "peercollabd",
            dependencies: [
                "DBus", "Systemd", "Collaboration", "PeerSecurity", "PeerProtocol", "PeerSessions", "Discovery",
                "DaemonRuntime", "PeerCollabAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Idle RSS (docs/benchmarks.md): with the Swift runtime, Foundation and NIO linked in
            // statically, the loader applied 55,000 relative relocations from a 1.3 MB table and
            // `-static-stdlib`'s `-export-dynamic` published 14,000 symbols nobody looks up;
            // both are pages every start touches. lld packs the relocations (DT_RELR, glibc
            // 2.36+: Debian 12) and the daemon exports nothing: 2 MiB less resident.
            //
            // Start-up and idle run a few thousand functions spread over 13 MiB of code, and every
            // page fault maps the 64 KiB around it: dist/link/peercollabd-hot.ld (written by
            // Benchmarks/rss/profile.py) gathers their sections in front, 6 MiB less resident. That
            // needs one section per function, which dist/install asks for (-function-sections);
            // without it, or with a stale list, less is gathered: it never matters for correctness.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                     "-Xlinker", "--no-export-dynamic",
                     "-Xlinker", "-T", "-Xlinker", "\(Context.packageDirectory)/dist/link/peercollabd-hot.ld"],
                    .when(platforms: [.linux], configuration: .release)),
            ]
        ),
        // The command line speaks only D-Bus: it links neither OpenSSL nor SQLite.
        .executableTarget(
            name: "peercollabctl",
            dependencies: [
                "DBus", "PeerCollabAPI", "CQRencode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests

        // What the integration tests share (docs/testing.md): private buses that activate
        // nothing, network namespace labs, Avahi in a lab, running programs, waiting with a
        // deadline. A plain target, so that every test target can depend on it.
        .target(name: "TestSupport", dependencies: ["DBus"], path: "Tests/TestSupport"),

        .testTarget(name: "DBusTests", dependencies: ["DBus", "TestSupport"]),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd"]),
        .testTarget(
            name: "PeerSecurityTests",
            dependencies: [
                "PeerSecurity", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PeerProtocolTests",
            dependencies: ["PeerProtocol", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(name: "DiscoveryTests", dependencies: ["Discovery", "TestSupport"]),
        .testTarget(name: "PeerSessionsTests", dependencies: ["PeerSessions", "PeerProtocol"]),
        .testTarget(name: "CollaborationTests", dependencies: ["Collaboration", "PeerCollabAPI", "TestSupport"]),
        .testTarget(name: "DaemonRuntimeTests", dependencies: ["DaemonRuntime"]),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "DBus", "PeerCollabAPI", "Collaboration", "PeerSecurity", "peercollabd", "peercollabctl", "TestSupport",
                // A hostile peer written with the project's own channel (presence flood test).
                "PeerProtocol", .product(name: "NIOPosix", package: "swift-nio"),
            ]),
    ]
)
