import DBus
import NIOCore
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon connects and keeps its files.
struct DaemonConfiguration: Sendable {
    var bus: DBusBusAddress
    /// Settings (`settings.json`): `$XDG_CONFIG_HOME/peercollab`.
    var configDirectory: URL
    /// Keys, certificate, contacts: `$XDG_DATA_HOME/peercollab`.
    var dataDirectory: URL
    /// The TCP port for peers; nil for the default.
    var port: Int?
    /// Listen on this address only; nil for all.
    var listenAddress: String?
    /// `auto`, `avahi` or `builtin`; nil: the settings decide.
    var discoveryBackend: String?
    /// Interfaces discovery may use; nil: the settings decide.
    var allowInterfaces: [String]?
    /// Where Avahi, logind and NetworkManager are.
    var systemBus: DBusBusAddress = .system
    /// Silence after which a peer is dropped; nil: the protocol's default.
    var peerTimeout: TimeAmount?

    /// The XDG base directory `variable`, else `~/fallback`, with `peercollab` appended.
    static func xdgDirectory(_ variable: String, fallback: String) -> URL {
        if let value = getenv(variable).map({ String(cString: $0) }), value.hasPrefix("/") {
            return URL(filePath: value).appending(path: "peercollab")
        }
        let home = getenv("HOME").map { String(cString: $0) }
            ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) } ?? "/"
        return URL(filePath: home).appending(path: fallback).appending(path: "peercollab")
    }
}
