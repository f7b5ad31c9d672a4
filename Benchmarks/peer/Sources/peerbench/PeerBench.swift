import NIOCore
import NIOPosix
import PeerProtocol
import PeerSecurity

#if canImport(Glibc)
import Glibc
#endif

/// The benchmark program run.sh drives: one subcommand per role, each printing one JSON
/// object (or a `ready` line) on standard output.
///
///     peerbench serve     --identity DIR [--port P]
///     peerbench handshake --identity DIR --port P --expect NAME --count N [--parallel K] [--warmup W]
///     peerbench session   --identities DIR --port P --expect NAME --count N [--warmup W]
///     peerbench hold      --identities DIR --port P --expect NAME --count N [--concurrency C]
@main
struct PeerBench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            guard let command = arguments.first else { throw BenchmarkError.usage("no subcommand") }
            let options = try Options(Array(arguments.dropFirst()))
            switch command {
            case "serve": try await EchoServer.run(options)
            case "handshake": try await HandshakeRounds.run(options)
            case "session": try await SessionRounds.run(options)
            case "hold": try await IdleSessions.run(options)
            default: throw BenchmarkError.usage("unknown subcommand \(command)")
            }
        } catch {
            let message = Array("peerbench: \(error)\n".utf8)
            _ = write(2, message, message.count)
            exit(1)
        }
    }
}

/// Why a benchmark run stopped, in words for the person running it.
struct BenchmarkError: Error, CustomStringConvertible {
    /// What kind of failure it was.
    enum Code: Sendable { case usage, connection }
    let code: Code
    let description: String

    static func usage(_ problem: String) -> BenchmarkError {
        BenchmarkError(code: .usage, description: "\(problem). Usage: peerbench serve|handshake|session|hold --name value …; see PeerBench.swift or Benchmarks/peer/README.md.")
    }

    static func connection(_ problem: String) -> BenchmarkError {
        BenchmarkError(code: .connection, description: "\(problem); is the server still running on 127.0.0.1 and the port right?")
    }
}

/// `--name value` pairs from the command line.
struct Options {
    private var values: [String: String] = [:]

    init(_ arguments: [String]) throws {
        var index = 0
        // Each step consumes two arguments, so the loop ends.
        while index < arguments.count {
            let key = arguments[index]
            guard key.hasPrefix("--"), index + 1 < arguments.count else {
                throw BenchmarkError.usage("expected --name value, got \(key)")
            }
            values[String(key.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
    }

    func string(_ name: String) throws -> String {
        guard let value = values[name] else { throw BenchmarkError.usage("--\(name) is missing") }
        return value
    }

    func int(_ name: String, default fallback: Int? = nil) throws -> Int {
        guard let text = values[name] else {
            if let fallback { return fallback }
            throw BenchmarkError.usage("--\(name) is missing")
        }
        guard let value = Int(text), value >= 0 else { throw BenchmarkError.usage("--\(name) must be a whole number ≥ 0, not \(text)") }
        return value
    }
}

/// Wall and CPU clocks read around a timed section.
struct Stopwatch {
    private let wallStart = NIODeadline.now()
    private let cpuStart = Stopwatch.processCPUSeconds()

    var wallSeconds: Double { Double((NIODeadline.now() - wallStart).nanoseconds) / 1e9 }
    var cpuSeconds: Double { Stopwatch.processCPUSeconds() - cpuStart }

    /// User plus system time of this whole process (every thread).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        _ = getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}

/// Microseconds since `start`.
func microseconds(since start: NIODeadline) -> Double {
    Double((NIODeadline.now() - start).nanoseconds) / 1000
}

/// Order statistics of a sample, for the JSON lines.
struct Summary {
    let sorted: [Double]

    init(_ values: [Double]) { sorted = values.sorted() }

    func percentile(_ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }

    var mean: Double { sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count) }

    func json(_ prefix: String) -> String {
        "\"\(prefix)_mean_us\": \(format(mean)), \"\(prefix)_p50_us\": \(format(percentile(0.5))), \"\(prefix)_p90_us\": \(format(percentile(0.9))), \"\(prefix)_p99_us\": \(format(percentile(0.99)))"
    }
}

/// A number with one decimal, as JSON.
func format(_ value: Double) -> String {
    let tenths = (value * 10).rounded()
    return "\(Int(tenths) / 10).\(abs(Int(tenths)) % 10)"
}

/// The hello the benchmark clients send: the versions and capability of the daemon's own.
let benchmarkHello = PeerHello(
    versions: PeerProtocolLimits.supportedVersions, capabilities: [.presence], softwareVersion: "peerbench/1")

/// A fresh identity per connection, kept in `base/NNNN` (reused by later runs: loading is
/// not what is measured).
func identities(in base: String, count: Int) throws -> [SecureChannel] {
    _ = mkdir(base, 0o700)
    return try (0..<count).map { index in
        let folder = base + "/" + String(index)
        return try SecureChannel(identity: PeerIdentity.loadOrCreate(directory: folder))
    }
}
