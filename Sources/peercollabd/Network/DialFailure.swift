import NIOCore

/// A failed dial in the words a person reads in `doctor`: NIO's errors name every attempt
/// and socket, which says nothing to someone looking at a firewall.
enum DialFailure {
    static func words(_ error: any Error) -> String {
        let text = "\(error)"
        let lower = text.lowercased()
        if lower.contains("connection refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if lower.contains("no route to host") || text.contains("EHOSTUNREACH") { return "no route to host" }
        if lower.contains("network is unreachable") || text.contains("ENETUNREACH") { return "network unreachable" }
        if lower.contains("timed out") || lower.contains("timeout") { return "no answer (timed out)" }
        return String(text.prefix(200))
    }
}
