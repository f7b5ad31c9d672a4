import PeerCollabAPI
import Collaboration
import Logging
import ServiceLifecycle
import Systemd

/// `systemctl --user reload` (SIGHUP): re-reads the settings, telling systemd RELOADING=1
/// first and READY=1 after (sd_notify's reload protocol), so the unit shows "reloading"
/// meanwhile. The unit is `Type=notify` with `ExecReload=` sending SIGHUP: Debian 12's
/// systemd 252 predates `Type=notify-reload` (253). The hang-ups come from the daemon's
/// `SignalWatcher`.
struct ReloadService: Service {
    let collaboration: Collaboration
    let hangups: AsyncStream<Void>
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                _ = try? SystemdNotifier.reloading()
                do {
                    try await collaboration.reload()
                    logger.info("Reloaded the settings")
                } catch {
                    logger.error("Failed to reload the settings: \(error), keeping the current ones")
                }
                _ = try? SystemdNotifier.ready(status: "Serving \(PeerCollabBus.serviceName)")
            }
        }
    }
}

/// Pings systemd's watchdog at half its interval; not run at all when there is none.
struct WatchdogService: Service {
    let watchdog: Watchdog

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await watchdog.run()
        }
    }
}
