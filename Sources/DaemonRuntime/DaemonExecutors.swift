#if canImport(Glibc)
import Glibc
@_spi(ExperimentalCustomExecutors) import _Concurrency

/// Installs the daemon's executors (`DaemonExecutorFactory`) in the Swift concurrency runtime.
///
/// Call it first thing in `main`, before anything awaits. Swift 6.3.1 on Linux has no
/// `-executor-factory` compiler flag, and its compiler does not act on a `DefaultExecutorFactory`
/// typealias in the main module either (the entry point it emits never calls
/// `swift_createExecutors`); so this calls `_createExecutors(factory:)` itself. That replaces
/// the global executor, the one `Task {}`, actors and `Task.sleep` use. The main actor,
/// though, keeps libdispatch's main queue as its identity (the runtime's
/// `swift_task_getMainExecutor` answers it directly), so a hop to the main actor would go to
/// `dispatch_async_f` on a queue nobody drains; the runtime's documented hooks for the main
/// executor point it at `MainThreadExecutor` instead.
public enum DaemonExecutors {
    /// Whether `install()` has run.
    public private(set) nonisolated(unsafe) static var isInstalled = false

    public static func install() {
        guard !isInstalled else { return }
        isInstalled = true
        _createExecutors(factory: DaemonExecutorFactory.self)
        if let hook = hookAddress("swift_task_getMainExecutor_hook", as: GetMainExecutorHook.self) {
            hook.pointee = getMainExecutorHook
        }
        if let hook = hookAddress("swift_task_isMainExecutor_hook", as: IsMainExecutorHook.self) {
            hook.pointee = isMainExecutorHook
        }
        if let hook = hookAddress("swift_task_enqueueMainExecutor_hook", as: EnqueueMainExecutorHook.self) {
            hook.pointee = enqueueMainExecutorHook
        }
    }

    // The runtime calls its hooks with the Swift calling convention, which thin functions have.
    fileprivate typealias GetMainExecutorOriginal = @convention(thin) () -> UnownedSerialExecutor
    fileprivate typealias GetMainExecutorHook = @convention(thin) (GetMainExecutorOriginal) -> UnownedSerialExecutor
    fileprivate typealias IsMainExecutorOriginal = @convention(thin) (UnownedSerialExecutor) -> Bool
    fileprivate typealias IsMainExecutorHook = @convention(thin) (UnownedSerialExecutor, IsMainExecutorOriginal) -> Bool
    fileprivate typealias EnqueueMainExecutorOriginal = @convention(thin) (UnownedJob) -> Void
    fileprivate typealias EnqueueMainExecutorHook = @convention(thin) (UnownedJob, EnqueueMainExecutorOriginal) -> Void

    private static func hookAddress<T>(_ name: String, as type: T.Type) -> UnsafeMutablePointer<T>? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), name) else { return nil }
        return symbol.assumingMemoryBound(to: T.self)
    }

}

// Kept as constants, not closures written in `install()`: Swift 6.3.1's region analysis crashes
// on thin closures there (SendNonSendable, "map::at").
private let getMainExecutorHook: DaemonExecutors.GetMainExecutorHook = { _ in
    DaemonExecutorFactory.mainThreadExecutor.asUnownedSerialExecutor()
}

private let isMainExecutorHook: DaemonExecutors.IsMainExecutorHook = { executor, _ in
    // An executor reference is two words; the first is the executor's identity.
    let main = DaemonExecutorFactory.mainThreadExecutor.asUnownedSerialExecutor()
    return unsafeBitCast(executor, to: (UInt, UInt).self).0 == unsafeBitCast(main, to: (UInt, UInt).self).0
}

private let enqueueMainExecutorHook: DaemonExecutors.EnqueueMainExecutorHook = { job, _ in
    DaemonExecutorFactory.mainThreadExecutor.enqueue(job)
}
#endif
