/// Polls `probe` until it returns a value or `timeout` passes; then fails naming `what` never
/// happened, with the last thing `describe` saw, so a failure says where it got stuck.
func eventually<T>(
    within timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(50),
    _ what: String, lastSeen describe: () -> String = { "" }, _ probe: () throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try probe() { return value }
        guard ContinuousClock.now < deadline else {
            let seen = describe()
            throw TestFailure("never happened within \(timeout): \(what)" + (seen.isEmpty ? "" : "\nlast seen: \(seen)"))
        }
        try await Task.sleep(for: interval)
    }
}
