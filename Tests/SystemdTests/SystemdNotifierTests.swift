import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ProcessEnvironmentTests {
    @Suite struct SystemdNotifierTests {
        @Test func withoutNotifySocketNothingIsSentAndNothingFails() async throws {
            try await withEnvironment(["NOTIFY_SOCKET": nil]) { () async throws in
                #expect(!SystemdNotifier.isUnderSystemd)
                #expect(try SystemdNotifier.ready(status: "Serving") == false)
                #expect(try SystemdNotifier.status("Idle") == false)
                #expect(try SystemdNotifier.reloading() == false)
                #expect(try SystemdNotifier.stopping() == false)
                #expect(try SystemdNotifier.watchdogPing() == false)
            }
        }

        @Test func readyAndStatusArriveAsTheServiceManagerReadsThem() async throws {
            let socket = try NotifySocket()
            try await withEnvironment(["NOTIFY_SOCKET": socket.path]) { () async throws in
                #expect(SystemdNotifier.isUnderSystemd)
                #expect(try SystemdNotifier.ready())
                #expect(socket.receive() == "READY=1")
                #expect(try SystemdNotifier.ready(status: "Serving 3 peers"))
                #expect(socket.receive() == "READY=1\nSTATUS=Serving 3 peers")
                #expect(try SystemdNotifier.status("Reloading contacts"))
                #expect(socket.receive() == "STATUS=Reloading contacts")
                // The variable stays for the watchdog's later pings.
                #expect(getenv("NOTIFY_SOCKET").map { String(cString: $0) } == socket.path)
            }
        }

        @Test func aStatusCannotSmuggleOtherAssignments() async throws {
            let socket = try NotifySocket()
            try await withEnvironment(["NOTIFY_SOCKET": socket.path]) { () async throws in
                try SystemdNotifier.status("peer alice\nREADY=1\r\nSTOPPING=1")
                #expect(socket.receive() == "STATUS=peer alice READY=1  STOPPING=1")
                try SystemdNotifier.ready(status: "\n")
                #expect(socket.receive() == "READY=1\nSTATUS= ")
            }
        }

        @Test func reloadingCarriesTheMonotonicTimeOfSending() async throws {
            let socket = try NotifySocket()
            try await withEnvironment(["NOTIFY_SOCKET": socket.path]) { () async throws in
                let before = monotonicMicroseconds()
                #expect(try SystemdNotifier.reloading())
                let after = monotonicMicroseconds()
                let message = try #require(socket.receive())
                let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 2)
                #expect(lines.first == "RELOADING=1")
                let stamp = try #require(lines.last?.split(separator: "=", maxSplits: 1))
                #expect(stamp.first == "MONOTONIC_USEC")
                let sent = try #require(stamp.last.flatMap { UInt64($0) })
                #expect(before <= sent && sent <= after)
            }
        }

        @Test func stoppingAndWatchdogPing() async throws {
            let socket = try NotifySocket()
            try await withEnvironment(["NOTIFY_SOCKET": socket.path]) { () async throws in
                #expect(try SystemdNotifier.stopping())
                #expect(socket.receive() == "STOPPING=1")
                #expect(try SystemdNotifier.watchdogPing())
                #expect(socket.receive() == "WATCHDOG=1")
                #expect(try SystemdNotifier.notify("EXTEND_TIMEOUT_USEC=5000000"))
                #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=5000000")
            }
        }

        @Test func aMissingSocketIsReportedWithTheSystemsReason() async throws {
            let directory = try makeTemporaryDirectory()
            defer { removeTemporaryDirectory(directory, files: []) }
            try await withEnvironment(["NOTIFY_SOCKET": directory + "/gone"]) { () async throws in
                let error = try #require(throws: SystemdError.self) { try SystemdNotifier.ready() }
                #expect(error.code == .notifyFailed)
                #expect(error.errno == ENOENT)
                #expect(error.description.contains("READY=1"))
                #expect(error.description.contains(directory + "/gone"))
            }
        }

        @Test func aRelativeSocketPathIsRefused() async throws {
            try await withEnvironment(["NOTIFY_SOCKET": "relative/notify"]) { () async throws in
                let error = try #require(throws: SystemdError.self) { try SystemdNotifier.stopping() }
                #expect(error.code == .notifyFailed)
                #expect(error.errno != 0)
            }
        }
    }
}

func monotonicMicroseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
}
