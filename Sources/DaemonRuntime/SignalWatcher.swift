#if canImport(Glibc)
import Glibc
import Synchronization

/// Takes process signals (SIGTERM, SIGHUP, …) on a thread of its own, blocked in `sigwaitinfo`,
/// and hands each to a handler: no signal handler runs at an arbitrary point, and nothing wakes
/// while no signal comes (libdispatch's signal sources, which swift-service-lifecycle uses,
/// would start libdispatch's worker pool and its 1 Hz timer).
///
/// The signals are blocked on the calling thread, and must be blocked on every thread of the
/// process (else one of them takes the signal with the default action): the daemon's
/// executors block all signals on their threads, and threads inherit the mask of the thread
/// that starts them.
///
/// Sendable: its fields never change after `init`; the stop flag is atomic.
public final class SignalWatcher: Sendable {
    let thread: pthread_t
    private let firstSignal: Int32

    /// Blocks `signals` and starts a thread named `signals` that calls `handler` with each one
    /// as it arrives, until `stop()`.
    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) throws {
        precondition(!signals.isEmpty, "A SignalWatcher needs signals to watch.")
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let watched = set
        firstSignal = signals[0]
        let box = StopBox()
        thread = try DaemonThread.start(name: "signals") { [box] in
            var set = watched
            var info = siginfo_t()
            while true {
                let signal = sigwaitinfo(&set, &info)
                if box.stopped.load(ordering: .acquiring) { return }
                if signal > 0 { handler(signal) }
            }
        }
        stopBox = box
    }

    private let stopBox: StopBox

    /// Ends the thread; the signals stay blocked.
    public func stop() {
        stopBox.stopped.store(true, ordering: .releasing)
        pthread_kill(thread, firstSignal)
    }

    private final class StopBox: Sendable {
        let stopped = Atomic(false)
    }
}
#endif
