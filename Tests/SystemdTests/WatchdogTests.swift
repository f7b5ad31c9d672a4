import Logging
import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ProcessEnvironmentTests {
    @Suite struct WatchdogTests {
        @Test func intervalComesFromWatchdogUsecForThisProcess() async throws {
            try await withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid())"]) { () async throws in
                #expect(Watchdog.interval == .milliseconds(200))
                let watchdog = try #require(Watchdog())
                #expect(watchdog.interval == .milliseconds(200))
                #expect(watchdog.pingPeriod == .milliseconds(100))
            }
        }

        @Test func withoutWatchdogUsecThereIsNoWatchdog() async throws {
            try await withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) { () async throws in
                #expect(Watchdog.interval == nil)
                #expect(try Watchdog.configuredInterval() == nil)
                #expect(Watchdog() == nil)
            }
        }

        @Test func aWatchdogMeantForAnotherProcessIsIgnored() async throws {
            try await withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid() + 1)"]) { () async throws in
                #expect(Watchdog.interval == nil)
                #expect(Watchdog() == nil)
            }
        }

        @Test(arguments: ["soon", "-5", "", "200000x"])
        func aMalformedWatchdogUsecIsAnErrorNotATimer(value: String) async throws {
            try await withEnvironment(["WATCHDOG_USEC": value, "WATCHDOG_PID": "\(getpid())"]) { () async throws in
                let error = try #require(throws: SystemdError.self) { try Watchdog.configuredInterval() }
                #expect(error.code == .invalidWatchdogSetting)
                #expect(Watchdog.interval == nil)
                #expect(Watchdog(logger: Logger(label: "quiet") { _ in SwiftLogNoOpLogHandler() }) == nil)
            }
        }

        @Test func runPingsRepeatedlyUntilCancelled() async throws {
            let socket = try NotifySocket()
            try await withEnvironment([
                "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid())",
            ]) {
                let watchdog = try #require(Watchdog())
                let running = Task { await watchdog.run() }
                var pings = 0
                // Bounded: at most 10 datagrams, each awaited for at most 5 s.
                for _ in 0..<10 where pings < 3 {
                    guard let message = socket.receive(within: 5) else { break }
                    #expect(message == "WATCHDOG=1")
                    pings += 1
                }
                running.cancel()
                await running.value
                #expect(pings >= 2)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func cancellingEndsTheSleepBetweenPings() async throws {
            let socket = try NotifySocket()
            try await withEnvironment(["NOTIFY_SOCKET": socket.path]) { () async throws in
                // Two hours between pings: returning at all shows cancellation cuts the sleep short.
                let watchdog = Watchdog(interval: .seconds(4 * 3600))
                let running = Task { await watchdog.run() }
                #expect(socket.receive(within: 5) == "WATCHDOG=1")
                running.cancel()
                await running.value
            }
        }
    }
}
