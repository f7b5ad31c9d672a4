import Discovery
import Foundation
import TestSupport

/// Collects what a browse stream delivers so a test can wait for an event with a deadline.
actor LabEventLog {
    private(set) var events: [DiscoveryEvent] = []
    private var pump: Task<Void, Never>?

    static func following(_ stream: AsyncStream<DiscoveryEvent>) async -> LabEventLog {
        let log = LabEventLog()
        await log.start(stream)
        return log
    }

    private func start(_ stream: AsyncStream<DiscoveryEvent>) {
        pump = Task { [weak self] in
            for await event in stream { await self?.append(event) }
        }
    }

    private func append(_ event: DiscoveryEvent) { events.append(event) }

    func stop() { pump?.cancel() }

    /// The first event after index `from` that fits, waiting up to `seconds`.
    func wait(
        for what: String, seconds: Double = 15, from start: Int = 0, _ fits: (DiscoveryEvent) -> Bool
    ) async throws -> DiscoveryEvent {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let event = events.dropFirst(start).first(where: fits) { return event }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("Timed out after \(seconds) s waiting for \(what); events were: \(events)")
    }

    /// The service of the first `.found` for `name`.
    func found(_ name: String, seconds: Double = 15, from start: Int = 0, where extra: (DiscoveredService) -> Bool = { _ in true })
        async throws -> DiscoveredService
    {
        let event = try await wait(for: ".found(\(name))", seconds: seconds, from: start) {
            if case .found(let service) = $0 { return service.instanceName == name && extra(service) }
            return false
        }
        guard case .found(let service) = event else { throw TestFailure("unreachable") }
        return service
    }

    func lost(_ name: String, seconds: Double = 15, from start: Int = 0) async throws {
        _ = try await wait(for: ".lost(\(name))", seconds: seconds, from: start) { $0 == .lost(instanceName: name) }
    }

    var count: Int { events.count }
}
