import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What an external program did: its exit status and everything it printed.
struct ToolResult: CustomStringConvertible {
    var status: Int32
    var output: String
    var errors: String
    var description: String { "exit \(status)\nstdout:\n\(output)\nstderr:\n\(errors)" }
}

/// Runs a program such as `busctl` to completion (killing it after `timeout`). Output goes to
/// temporary files, so a chatty program can never block on a full pipe.
func runTool(_ path: String, _ arguments: [String], timeout: Duration = .seconds(20)) async throws -> ToolResult {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("dbustests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("out")
    let errURL = directory.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    // No pager, no colours, no polkit prompts: busctl as a script would run it.
    var environment = ProcessInfo.processInfo.environment
    environment["SYSTEMD_PAGER"] = "cat"
    environment["SYSTEMD_COLORS"] = "0"
    process.environment = environment

    let exited = AsyncStream<Int32>.makeStream()
    process.terminationHandler = { process in
        exited.continuation.yield(process.terminationStatus)
        exited.continuation.finish()
    }
    try process.run()
    try? outHandle.close()
    try? errHandle.close()

    let stream = exited.stream
    let status: Int32
    do {
        status = try await withDeadline(timeout, "\(path) \(arguments.joined(separator: " ")) to exit") {
            for await status in stream { return status }
            return -1
        }
    } catch {
        // Not terminate(): the child inherits a mask that blocks SIGTERM (see PrivateBus.kill).
        kill(process.processIdentifier, SIGKILL)
        throw error
    }
    return ToolResult(
        status: status,
        output: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        errors: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// `busctl --address=ADDRESS ARGUMENTS...`
func busctl(_ bus: PrivateBus, _ arguments: [String]) async throws -> ToolResult {
    try await runTool("/usr/bin/busctl", ["--address=\(bus.address)", "--no-pager"] + arguments)
}
