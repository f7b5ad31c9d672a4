import CDBus
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The thread that owns one connection's sockets: an epoll loop fed by libdbus's watch and
/// timeout functions.
///
/// libdbus's own blocking loop holds the socket while it polls, so a reply sent from another
/// thread waits for the poll to end; a finite poll timeout would fix that by waking forever.
/// Owning the descriptors gives both: messages sent from any thread are written at once
/// (libdbus writes directly, or enables the write watch, which wakes epoll), and with nothing
/// to do the thread sleeps in `epoll_wait` with no timeout at all.
///
/// Sendable by construction: the descriptors are immutable after `init`, and every mutable
/// field lives in `state`, behind a mutex.
final class DBusEventLoop: @unchecked Sendable {
    private let connection: OpaquePointer
    private let epollFD: Int32
    private let wakeFD: Int32
    private let state = Mutex(LoopState())
    private var thread: pthread_t?
    private let loopThread = Atomic<UInt>(0)
    private let pendingTeardown = Mutex<(@Sendable () -> Void)?>(nil)

    /// Pointers are kept as bit patterns: they are only ever handed back to libdbus on the
    /// loop thread, and libdbus tells us (remove) before it frees them.
    private struct LoopState: Sendable {
        var watchesByFD: [Int32: [UInt]] = [:]
        var registeredFDs: [Int32: UInt32] = [:]
        var timeouts: [UInt: ContinuousClock.Instant?] = [:]
        var running = true
    }

    init(connection: OpaquePointer) throws {
        self.connection = connection
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epollFD >= 0, wakeFD >= 0 else {
            throw DBusError.failed("Failed to create the event loop: errno \(errno)")
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    /// Installs the callbacks on the connection and starts the thread.
    func start() throws {
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard
            dbus_connection_set_watch_functions(
                connection, loopAddWatch, loopRemoveWatch, loopToggleWatch, me, nil) != 0,
            dbus_connection_set_timeout_functions(
                connection, loopAddTimeout, loopRemoveTimeout, loopToggleTimeout, me, nil) != 0
        else { throw DBusError.noMemory() }
        dbus_connection_set_wakeup_main_function(connection, loopWakeup, me, nil)
        dbus_connection_set_dispatch_status_function(connection, loopDispatchStatus, me, nil)

        let box = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { argument in
            let loop = Unmanaged<DBusEventLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<DBusEventLoop>.fromOpaque(box).release()
            throw DBusError.failed("Failed to start the D-Bus thread: error \(result)")
        }
        // Named from here, not from the thread, so that the name is there when `init` returns:
        // it lets a profiler or a test tell this thread from the others.
        _ = setThreadName?(handle, "dbus-loop")
        thread = handle
    }

    /// Stops the thread and waits for it; callbacks are removed from the connection.
    func stop() {
        state.withLock { $0.running = false }
        wake()
        if let thread, !pthread_equal(thread, pthread_self()).isNonZero {
            pthread_join(thread, nil)
        }
        thread = nil
        removeCallbacks()
    }

    /// Stops the loop, then runs `teardown` once the loop no longer touches the connection:
    /// at once (after the thread ended) when called from another thread, or as the loop
    /// thread's last act when called on it — from a handler, or from the deinit of a
    /// connection whose last reference went on that thread, where freeing the connection
    /// at once would pull it from under the dispatch in progress.
    func stop(then teardown: @escaping @Sendable () -> Void) {
        if UInt(pthread_self()) == loopThread.load(ordering: .relaxed) {
            pendingTeardown.withLock { $0 = teardown }
            state.withLock { $0.running = false }
            wake()  // so that the loop's next epoll_wait returns and the loop ends
            return
        }
        stop()
        teardown()
    }

    private func removeCallbacks() {
        dbus_connection_set_watch_functions(connection, nil, nil, nil, nil, nil)
        dbus_connection_set_timeout_functions(connection, nil, nil, nil, nil, nil)
        dbus_connection_set_wakeup_main_function(connection, nil, nil, nil)
        dbus_connection_set_dispatch_status_function(connection, nil, nil, nil)
    }

    /// Wakes the loop unless called on it: the loop dispatches and re-reads its watches
    /// before it sleeps again anyway.
    func wakeIfElsewhere() {
        if UInt(pthread_self()) != loopThread.load(ordering: .relaxed) { wake() }
    }

    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: The loop

    private func run() {
        loopThread.store(UInt(pthread_self()), ordering: .relaxed)
        var events = [epoll_event](repeating: epoll_event(), count: 16)
        while state.withLock({ $0.running }) {
            dispatchAll()
            let timeout = millisecondsUntilNextTimeout()
            let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<Int(count) {
                let fd = events[index].data.fd
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    flushStrandedMessages()
                } else {
                    handleWatches(fd: fd, events: events[index].events)
                }
            }
            fireDueTimeouts()
        }
        let teardown = pendingTeardown.withLock { pending -> (@Sendable () -> Void)? in
            defer { pending = nil }
            return pending
        }
        if let teardown {
            removeCallbacks()
            teardown()
        }
    }

    /// Writes messages another thread queued but could not send. A sender writes at once
    /// only if it gets libdbus's I/O path; while this thread holds it to read, the sender
    /// just queues the message and wakes us, and reading does not turn the write watch on,
    /// so without this the message (often a reply) would wait for the next send, maybe forever.
    /// A non-blocking iteration writes what it can and enables the write watch for the rest.
    private func flushStrandedMessages() {
        guard dbus_connection_has_messages_to_send(connection) != 0 else { return }
        _ = dbus_connection_read_write(connection, 0)
    }

    private func dispatchAll() {
        while dbus_connection_get_dispatch_status(connection) == DBUS_DISPATCH_DATA_REMAINS {
            if dbus_connection_dispatch(connection) == DBUS_DISPATCH_COMPLETE { break }
        }
    }

    private func handleWatches(fd: Int32, events: UInt32) {
        var flags: UInt32 = 0
        if events & EPOLLIN.rawValue != 0 { flags |= DBUS_WATCH_READABLE.rawValue }
        if events & EPOLLOUT.rawValue != 0 { flags |= DBUS_WATCH_WRITABLE.rawValue }
        if events & EPOLLERR.rawValue != 0 { flags |= DBUS_WATCH_ERROR.rawValue }
        if events & EPOLLHUP.rawValue != 0 { flags |= DBUS_WATCH_HANGUP.rawValue }
        let candidates = state.withLock { $0.watchesByFD[fd] ?? [] }
        for bits in candidates {
            // A watch handled earlier in this pass may have removed this one.
            let stillThere = state.withLock { $0.watchesByFD[fd]?.contains(bits) ?? false }
            guard stillThere, let watch = OpaquePointer(bitPattern: bits),
                dbus_watch_get_enabled(watch) != 0
            else { continue }
            let wanted = dbus_watch_get_flags(watch)
                | DBUS_WATCH_ERROR.rawValue | DBUS_WATCH_HANGUP.rawValue
            let relevant = flags & wanted
            if relevant != 0 { dbus_watch_handle(watch, relevant) }
        }
    }

    private func millisecondsUntilNextTimeout() -> Int32 {
        let next = state.withLock { $0.timeouts.values.compactMap { $0 }.min() }
        guard let next else { return -1 }
        let remaining = ContinuousClock.now.duration(to: next)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    private func fireDueTimeouts() {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            state.timeouts.compactMap { key, deadline in (deadline.map { $0 <= now } ?? false) ? key : nil }
        }
        for bits in due {
            let stillThere = state.withLock { $0.timeouts[bits] != nil }
            guard stillThere, let timeout = OpaquePointer(bitPattern: bits) else { continue }
            // libdbus timeouts repeat until removed.
            state.withLock { $0.timeouts[bits] = Self.deadline(for: timeout) }
            dbus_timeout_handle(timeout)
        }
    }

    // MARK: Callbacks from libdbus (any thread)

    fileprivate func addWatch(_ watch: OpaquePointer) -> Bool {
        let fd = dbus_watch_get_unix_fd(watch)
        state.withLock { $0.watchesByFD[fd, default: []].append(UInt(bitPattern: Int(bitPattern: watch))) }
        updateEpoll(fd: fd)
        return true
    }

    fileprivate func removeWatch(_ watch: OpaquePointer) {
        let bits = UInt(bitPattern: Int(bitPattern: watch))
        let fd = dbus_watch_get_unix_fd(watch)
        state.withLock { state in
            state.watchesByFD[fd]?.removeAll { $0 == bits }
            if state.watchesByFD[fd]?.isEmpty == true { state.watchesByFD[fd] = nil }
        }
        updateEpoll(fd: fd)
    }

    fileprivate func toggleWatch(_ watch: OpaquePointer) {
        updateEpoll(fd: dbus_watch_get_unix_fd(watch))
    }

    /// Registers `fd` for the union of what its enabled watches want, or removes it when none do.
    private func updateEpoll(fd: Int32) {
        state.withLock { state in
            var wanted: UInt32 = 0
            for bits in state.watchesByFD[fd] ?? [] {
                guard let watch = OpaquePointer(bitPattern: bits), dbus_watch_get_enabled(watch) != 0 else {
                    continue
                }
                let flags = dbus_watch_get_flags(watch)
                if flags & DBUS_WATCH_READABLE.rawValue != 0 { wanted |= EPOLLIN.rawValue }
                if flags & DBUS_WATCH_WRITABLE.rawValue != 0 { wanted |= EPOLLOUT.rawValue }
            }
            let registered = state.registeredFDs[fd]
            var event = epoll_event()
            event.events = wanted
            event.data.fd = fd
            if wanted == 0 {
                if registered != nil {
                    epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
                    state.registeredFDs[fd] = nil
                }
            } else if registered == nil {
                epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
                state.registeredFDs[fd] = wanted
            } else if registered != wanted {
                epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
                state.registeredFDs[fd] = wanted
            }
        }
    }

    private static func deadline(for timeout: OpaquePointer) -> ContinuousClock.Instant? {
        guard dbus_timeout_get_enabled(timeout) != 0 else { return nil }
        return ContinuousClock.now.advanced(by: .milliseconds(Int(dbus_timeout_get_interval(timeout))))
    }

    fileprivate func addTimeout(_ timeout: OpaquePointer) -> Bool {
        let bits = UInt(bitPattern: Int(bitPattern: timeout))
        state.withLock { $0.timeouts[bits] = Self.deadline(for: timeout) }
        wake()
        return true
    }

    fileprivate func removeTimeout(_ timeout: OpaquePointer) {
        let bits = UInt(bitPattern: Int(bitPattern: timeout))
        state.withLock { _ = $0.timeouts.removeValue(forKey: bits) }
    }

    fileprivate func toggleTimeout(_ timeout: OpaquePointer) {
        let bits = UInt(bitPattern: Int(bitPattern: timeout))
        state.withLock { $0.timeouts[bits] = Self.deadline(for: timeout) }
        wake()
    }

    fileprivate static func from(_ data: UnsafeMutableRawPointer?) -> DBusEventLoop {
        Unmanaged<DBusEventLoop>.fromOpaque(data!).takeUnretainedValue()
    }
}

extension Int32 {
    fileprivate var isNonZero: Bool { self != 0 }
}

/// `pthread_setname_np`, which the Glibc module does not import (it is a GNU extension
/// declared only under `_GNU_SOURCE`); looked up once in the already loaded libc.
private let setThreadName: (@convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32)? = {
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pthread_setname_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32).self)
}()

private func loopAddWatch(_ watch: OpaquePointer?, _ data: UnsafeMutableRawPointer?) -> dbus_bool_t {
    DBusEventLoop.from(data).addWatch(watch!) ? 1 : 0
}
private func loopRemoveWatch(_ watch: OpaquePointer?, _ data: UnsafeMutableRawPointer?) {
    DBusEventLoop.from(data).removeWatch(watch!)
}
private func loopToggleWatch(_ watch: OpaquePointer?, _ data: UnsafeMutableRawPointer?) {
    DBusEventLoop.from(data).toggleWatch(watch!)
}
private func loopAddTimeout(_ timeout: OpaquePointer?, _ data: UnsafeMutableRawPointer?) -> dbus_bool_t {
    DBusEventLoop.from(data).addTimeout(timeout!) ? 1 : 0
}
private func loopRemoveTimeout(_ timeout: OpaquePointer?, _ data: UnsafeMutableRawPointer?) {
    DBusEventLoop.from(data).removeTimeout(timeout!)
}
private func loopToggleTimeout(_ timeout: OpaquePointer?, _ data: UnsafeMutableRawPointer?) {
    DBusEventLoop.from(data).toggleTimeout(timeout!)
}
private func loopWakeup(_ data: UnsafeMutableRawPointer?) {
    DBusEventLoop.from(data).wakeIfElsewhere()
}
private func loopDispatchStatus(
    _ connection: OpaquePointer?, _ status: DBusDispatchStatus, _ data: UnsafeMutableRawPointer?
) {
    if status == DBUS_DISPATCH_DATA_REMAINS { DBusEventLoop.from(data).wakeIfElsewhere() }
}
