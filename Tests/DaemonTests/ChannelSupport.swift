import DBus
import Foundation
import Testing
import PeerCollabAPI
import Synchronization
import TestSupport

/// An application's end of a channel in a test: the descriptor `OpenChannel` returned, read
/// and written with plain blocking system calls on threads of their own (never on the
/// concurrency pool), each wait bounded by `poll` with a deadline.
final class AppChannel: Sendable {
    let fd: Int32

    init(_ value: DBusValue?) throws {
        guard case .unixFD(let handle)? = value else { throw TestFailure("OpenChannel returned \(String(describing: value)), not a descriptor") }
        fd = fcntl(handle.fileDescriptor, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else { throw TestFailure("dup failed: \(errno)") }
    }

    deinit { Glibc.close(fd) }

    /// Waits until the socket is readable (or writable); false at the deadline.
    func wait(for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let milliseconds = Int32(min(1000, max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            let result = poll(&entry, 1, milliseconds)
            if result > 0 { return true }
            if result < 0 && errno != EINTR { return false }
        }
    }

    /// Writes everything, failing with errno or at the deadline.
    func writeAll(_ bytes: [UInt8], timeout: Duration = .seconds(20)) async throws {
        let fd = self.fd
        try await onOwnThread { [self] in
            let deadline = ContinuousClock.now + timeout
            var offset = 0
            while offset < bytes.count {
                guard self.wait(for: Int16(POLLOUT), until: deadline) else { throw TestFailure("write blocked past \(timeout) at \(offset) of \(bytes.count) bytes") }
                let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
                if written < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw POSIXFailure(errno: errno, during: "write")
                }
                offset += written
            }
        }
    }

    /// Reads until `count` bytes came, end-of-file, or the deadline.
    func read(count: Int, timeout: Duration = .seconds(20)) async throws -> [UInt8] {
        let fd = self.fd
        return try await onOwnThread { [self] in
            let deadline = ContinuousClock.now + timeout
            var result: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while result.count < count {
                guard self.wait(for: Int16(POLLIN), until: deadline) else { throw TestFailure("read got \(result.count) of \(count) bytes within \(timeout)") }
                let got = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, min($0.count, count - result.count), Int32(MSG_DONTWAIT)) }
                if got < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw POSIXFailure(errno: errno, during: "read")
                }
                if got == 0 { break }
                result += buffer[0..<got]
            }
            return result
        }
    }

    /// Reads to end-of-file; throws the errno of a failed read (ECONNRESET).
    func readToEnd(timeout: Duration = .seconds(20), limit: Int = 1 << 30) async throws -> [UInt8] {
        try await read(count: limit, timeout: timeout)
    }

    /// `shutdown(SHUT_WR)`: end-of-stream for the other side.
    func finishWriting() { shutdown(fd, Int32(SHUT_WR)) }
}

struct POSIXFailure: Error, CustomStringConvertible {
    let errno: Int32
    let during: String
    var description: String { "\(during) failed: \(String(cString: strerror(errno))) (\(errno))" }
}

/// Two daemons in namespaces with an accepted invitation from A to B.
struct AcceptedInvitation {
    let pair: InvitationPair
    /// A's outgoing and B's incoming object of the same invitation.
    let onA: DBusObjectPath
    let onB: DBusObjectPath

    init(settingsA: String? = nil, settingsB: String? = nil) async throws {
        pair = try await InvitationPair(settingsA: settingsA, settingsB: settingsB)
        onA = try await pair.invite()
        onB = try await pair.incomingOnB()
        try await pair.call(pair.b, onB, "Accept")
        try await pair.waitForState(pair.a, onA, "accepted")
    }

    var a: LabDaemon { pair.a }
    var b: LabDaemon { pair.b }

    func open(_ daemon: LabDaemon, _ path: DBusObjectPath, _ name: String) async throws -> AppChannel {
        let reply = try await daemon.call(path, InvitationPair.invitation, "OpenChannel", [.string(name)])
        return try AppChannel(reply.first)
    }

    /// Opens `name` on both sides (A first).
    func openBoth(_ name: String) async throws -> (onA: AppChannel, onB: AppChannel) {
        let first = try await open(a, onA, name)
        let second = try await open(b, onB, name)
        return (first, second)
    }

    /// The `Channels` entries of an invitation: name → (state, sent, received).
    static func channels(_ daemon: LabDaemon, _ path: DBusObjectPath) async throws -> [String: (state: String, sent: UInt64, received: UInt64)] {
        let value = try await daemon.property(path, InvitationPair.invitation, "Channels")
        var result: [String: (String, UInt64, UInt64)] = [:]
        for entry in value.arrayElements ?? [] {
            guard let fields = entry.structureFields, fields.count == 4 else { continue }
            result[fields[0].stringValue ?? ""] = (fields[1].stringValue ?? "", fields[2].uint64Value ?? 0, fields[3].uint64Value ?? 0)
        }
        return result
    }

    /// Waits (bounded) until `condition` holds for the channels listed on `daemon`.
    static func waitForChannels(
        _ what: String, _ daemon: LabDaemon, _ path: DBusObjectPath, timeout: Duration = .seconds(20),
        _ condition: ([String: (state: String, sent: UInt64, received: UInt64)]) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: [String: (state: String, sent: UInt64, received: UInt64)] = [:]
        while ContinuousClock.now < deadline {
            last = try await channels(daemon, path)
            if condition(last) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("never happened within \(timeout): \(what); last \(last)")
    }
}

/// Deterministic bytes for transfers (a cheap generator, so that a shifted or repeated
/// chunk never matches).
func patternBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var bytes = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[index] = UInt8(truncatingIfNeeded: state)
    }
    return bytes
}

/// The first message of `stream` that `pick` takes, waiting at most `timeout`.
func firstSignal<T: Sendable>(
    _ stream: AsyncStream<DBusMessage>, timeout: Duration = .seconds(20), _ pick: @escaping @Sendable (DBusMessage) -> T?
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            for await message in stream { if let value = pick(message) { return value } }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        guard let first else { throw TestFailure("no matching signal within \(timeout)") }
        return first
    }
}

extension AppChannel {
    /// Writes without blocking until the socket stays full for `quiet` (the reader stopped);
    /// returns how much went in, at most `maximum`.
    func writeUntilBlocked(maximum: Int, quiet: Duration = .seconds(2), seed: UInt64) async throws -> Int {
        let fd = self.fd
        return try await onOwnThread { [self] in
            let payload = patternBytes(maximum, seed: seed)
            var offset = 0
            while offset < maximum {
                let written = payload[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, min($0.count, 64 * 1024), Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
                if written > 0 { offset += written; continue }
                if written < 0 && errno != EAGAIN && errno != EINTR { throw POSIXFailure(errno: errno, during: "write") }
                if !self.wait(for: Int16(POLLOUT), until: .now + quiet) { break }
            }
            return offset
        }
    }

    /// Reads `count` bytes, adding each read to `progress`; returns a checksum-free copy.
    func read(count: Int, progress: Progress, timeout: Duration = .seconds(60)) async throws -> [UInt8] {
        let fd = self.fd
        return try await onOwnThread { [self] in
            let deadline = ContinuousClock.now + timeout
            var result: [UInt8] = []
            result.reserveCapacity(count)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while result.count < count {
                guard self.wait(for: Int16(POLLIN), until: deadline) else { throw TestFailure("read got \(result.count) of \(count) bytes") }
                let got = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, min($0.count, count - result.count), Int32(MSG_DONTWAIT)) }
                if got < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw POSIXFailure(errno: errno, during: "read")
                }
                if got == 0 { break }
                result += buffer[0..<got]
                progress.bytes.add(got, ordering: .relaxed)
            }
            return result
        }
    }
}

/// A process's resident set in bytes (VmRSS).
func residentBytes(of pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes * 1024
}

/// Descriptors a process holds now.
func openDescriptors(of pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}

/// Bytes read so far, shared between a reading thread and the test.
final class Progress: Sendable {
    let bytes = Atomic<Int>(0)
    var value: Int { bytes.load(ordering: .relaxed) }
}
