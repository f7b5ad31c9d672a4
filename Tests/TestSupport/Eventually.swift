/// Polls `probe` until it returns a value or `timeout` passes; then fails naming `what` never
/// happened, with the last thing `describe` saw, so a failure says where it got stuck. Tests
/// wait on events this way, never with a fixed sleep. The probe may await (a bus call, an
/// actor) or not; a condition that holds or not says `cond ? true : nil`, since a plain
/// `false` would be a value.
@discardableResult
public func eventually<T>(
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

