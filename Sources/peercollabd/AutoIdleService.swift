import Collaboration
import Logging
import ServiceLifecycle

/// Shows me `idle` while logind says the session is idle, and what I had when I return
/// (the domain decides; this only carries logind's `IdleHint` to it).
struct AutoIdleService: Service {
    let collaboration: Collaboration
    let systemEvents: SystemEvents

    func run() async throws {
        let collaboration = self.collaboration
        await cancelWhenGracefulShutdown {
            await systemEvents.watchIdleHint { idle in
                await collaboration.setIdleHint(idle)
            }
        }
    }
}
