#if canImport(Glibc)
@_spi(ExperimentalCustomExecutors) import _Concurrency

/// The executors of the daemon: the main thread as main executor and a `ThreadPoolExecutor` as
/// the global one. Together they keep libdispatch out of the process, and with it its
/// once-a-second timer. Installed by `DaemonExecutors.install()`.
@_spi(DaemonExecutors) public struct DaemonExecutorFactory: ExecutorFactory {
    static let mainThreadExecutor = MainThreadExecutor()
    static let threadPool = ThreadPoolExecutor(
        threadCount: ThreadPoolExecutor.defaultThreadCount, name: "swift-pool")

    public static var mainExecutor: any MainExecutor { mainThreadExecutor }
    public static var defaultExecutor: any TaskExecutor { threadPool }
}
#endif
