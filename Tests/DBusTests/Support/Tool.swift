import TestSupport

/// `busctl --address=ADDRESS ARGUMENTS...`, as a script would run it: no pager, no colours,
/// no polkit prompts (killed after 20 s).
func busctl(_ bus: PrivateBus, _ arguments: [String]) async throws -> ProcessRunner.Output {
    var environment = Subprocess.inheritedEnvironment
    environment["SYSTEMD_PAGER"] = "cat"
    environment["SYSTEMD_COLORS"] = "0"
    return try await ProcessRunner.run(
        "/usr/bin/busctl", ["--address=\(bus.address)", "--no-pager"] + arguments, environment: environment,
        timeout: .seconds(20))
}
