#if canImport(Glibc)
import Glibc

/// Starting the runtime's own threads: named (so that `/proc/PID/task/*/comm`, `top -H` and
/// profilers tell them apart) and with every signal blocked, so that a process signal is only
/// ever taken by `SignalWatcher`'s descriptor and never by a thread that happens to run.
/// Threads started from these threads inherit the blocked mask.
enum DaemonThread {
    struct StartError: Error, CustomStringConvertible {
        var name: String
        var code: Int32
        var description: String {
            "Failed to start the thread '\(name)' (error \(code)); the system may be out of threads or memory."
        }
    }

    /// Starts a detached thread running `body`.
    @discardableResult
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(StartError) -> pthread_t {
        let box = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var handle = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        // Threads created with signals blocked cannot take one in the window before they
        // block them themselves.
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        let result = pthread_create(&handle, &attributes, { argument in
            let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
            _ = setThreadName?(pthread_self(), String(body.name.prefix(15)))
            body.run()
            return nil
        }, box)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        pthread_attr_destroy(&attributes)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw StartError(name: name, code: result)
        }
        return handle
    }

    /// Blocks every signal on the calling thread (for the main thread, which is not ours to start).
    static func blockAllSignals() {
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
    }

    private final class Body: Sendable {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}

/// `pthread_setname_np`, which the Glibc module does not import (a GNU extension declared only
/// under `_GNU_SOURCE`); looked up once in the already loaded libc.
private let setThreadName: (@convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32)? = {
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pthread_setname_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32).self)
}()
#endif
