import Collaboration
import ServiceLifecycle

/// The domain's one timer: it sleeps until the domain's earliest deadline and tells the
/// domain when it passed. The domain itself never sleeps (its rules run on any clock), and
/// with no deadline there is no timer at all, so an idle daemon does not wake.
struct DomainTimerService: Service {
    let collaboration: Collaboration

    func run() async throws {
        let (deadlines, continuation) = AsyncStream<ContinuousClock.Instant?>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await collaboration.observeDeadlines { continuation.yield($0) }
        let collaboration = self.collaboration
        await cancelWhenGracefulShutdown {
            var sleeper: Task<Void, Never>?
            for await deadline in deadlines {
                sleeper?.cancel()
                sleeper = deadline.map { deadline in
                    Task {
                        try? await Task.sleep(until: deadline, clock: .continuous)
                        guard !Task.isCancelled else { return }
                        await collaboration.deadlinesPassed()
                    }
                }
            }
            sleeper?.cancel()
        }
        continuation.finish()
    }
}
