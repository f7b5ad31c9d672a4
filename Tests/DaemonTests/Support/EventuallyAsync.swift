/// ``eventually`` for probes that must await (a bus call, an actor): polls until `probe`
/// returns a value or `timeout` passes, then fails naming what never happened.
func eventuallyAsync<T>(
    within timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(50),
    _ what: String, lastSeen describe: () async -> String = { "" }, _ probe: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard ContinuousClock.now < deadline else {
            let seen = await describe()
            throw TestFailure("never happened within \(timeout): \(what)" + (seen.isEmpty ? "" : "\nlast seen: \(seen)"))
        }
        try await Task.sleep(for: interval)
    }
}
