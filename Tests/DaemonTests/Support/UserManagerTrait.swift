import Testing

/// Runs a suite inside one ``UserManager``: started before its first test, stopped after its last.
struct UserManagerTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard UserManager.unavailableReason == nil else {
            try await function()
            return
        }
        let manager = try await UserManager.start()
        do {
            try await UserManager.$current.withValue(manager) { try await function() }
        } catch {
            await manager.stop()
            throw error
        }
        await manager.stop()
    }
}

extension Trait where Self == UserManagerTrait {
    /// One `systemd --user` for the whole suite, reachable as `UserManager.current`.
    static var userManager: Self { UserManagerTrait() }
}
