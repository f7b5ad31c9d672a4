import DBus
import Logging
import Synchronization

/// Starts a program as a transient service of the user's systemd manager and waits until
/// systemd says whether it started: `StartTransientUnit` with `Type=exec`, so a failed exec
/// fails the job, then the job's `JobRemoved` signal.
///
/// The manager only sends job signals to clients that called `Subscribe`; this starter is
/// subscribed while at least one start is in flight and unsubscribes after the last, so the
/// user's manager does not keep broadcasting every unit change on our account.
actor TransientUnitStarter {
    static let busName = "org.freedesktop.systemd1"
    static let managerPath: DBusObjectPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
    static let serviceInterface = "org.freedesktop.systemd1.Service"

    /// What to start.
    struct Unit: Sendable, Hashable {
        var name: String
        var description: String
        /// Absolute path of the program.
        var program: String
        /// argv, including argv[0].
        var arguments: [String]
        /// `NAME=value` entries.
        var environment: [String]
    }

    private let connection: DBusConnection
    private let logger: Logger
    private let jobTimeout: Duration
    private var startsInFlight = 0
    /// Subscribe and Unsubscribe calls, in the order they were decided: a start must never see
    /// an Unsubscribe overtake the Subscribe it relies on.
    private var subscriptionCalls: Task<Void, Never>?

    init(connection: DBusConnection, logger: Logger, jobTimeout: Duration) {
        self.connection = connection
        self.logger = logger
        self.jobTimeout = jobTimeout
    }

    /// Starts `unit`; returns once systemd ran its ExecStart (job result `done`), throws
    /// `startFailed` with systemd's result and reason otherwise, `timeout` when no result came.
    func start(_ unit: Unit, for applicationID: String) async throws(LaunchError) {
        let jobRule = DBusMatchRule(
            sender: Self.busName, path: Self.managerPath, interface: Self.managerInterface, member: "JobRemoved")
        let unitPath = Self.unitPath(unit.name)
        let changeRule = DBusMatchRule(
            sender: Self.busName, path: unitPath, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged")
        let jobs: AsyncStream<DBusMessage>
        let changes: AsyncStream<DBusMessage>
        do {
            jobs = try await connection.subscribe(to: jobRule)
            changes = try await connection.subscribe(to: changeRule)
        } catch {
            throw .startFailed("\(applicationID): could not listen to the systemd user manager: \(Self.text(error))")
        }
        await retainSubscription()
        defer { releaseSubscription() }

        // The service's Result and exit status arrive as PropertiesChanged just before the job
        // ends; the unit is collected right after, so they cannot be read afterwards.
        let exitInfo = ExitInfoBox()
        let watcher = Task {
            for await message in changes {
                let arguments = message.arguments()
                guard arguments.first?.stringValue == Self.serviceInterface,
                    let changed = arguments.dropFirst().first?.vardictValue
                else { continue }
                if exitInfo.state.withLock({ $0.update(with: changed); return $0.isFailure }) { return }
            }
        }
        defer { watcher.cancel() }

        let job: DBusObjectPath
        do {
            let reply = try await connection.call(
                destination: Self.busName, path: Self.managerPath, interface: Self.managerInterface,
                member: "StartTransientUnit", arguments: Self.startArguments(unit))
            guard let path = reply.first?.objectPathValue else {
                throw DBusError.failed("StartTransientUnit replied without a job path")
            }
            job = path
        } catch {
            throw .startFailed("\(applicationID): the systemd user manager refused to start \(unit.name): \(Self.text(error))")
        }
        logger.debug("Waiting for the application's unit to start", metadata: [
            "application": "\(applicationID)", "unit": "\(unit.name)", "job": "\(job)",
        ])

        let result = await Self.result(of: job, in: jobs, within: jobTimeout)
        switch result {
        case "done":
            return
        case nil:
            // Whatever systemd still does, the invitation reports failure; do not let the
            // application appear later as if it had worked.
            _ = try? await connection.call(
                destination: Self.busName, path: Self.managerPath, interface: Self.managerInterface,
                member: "StopUnit", arguments: [.string(unit.name), .string("replace")], timeout: .seconds(5))
            throw .timeout(
                "\(applicationID): systemd did not start \(unit.name) within \(jobTimeout); see systemctl --user status \(unit.name)")
        case let result?:
            let reason = await Self.reason(from: exitInfo, seenBy: watcher, program: unit.program)
            throw .startFailed("\(applicationID): systemd could not start \(unit.program) (job \(result)\(reason.map { ": " + $0 } ?? ""))")
        }
    }

    // MARK: The job

    /// The result of `job` from `JobRemoved(u id, o job, s unit, s result)`, nil when the wait ran out.
    private static func result(of job: DBusObjectPath, in jobs: AsyncStream<DBusMessage>, within timeout: Duration) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await message in jobs {
                    let arguments = message.arguments()
                    guard arguments.count == 4, arguments[1].objectPathValue == job else { continue }
                    return arguments[3].stringValue ?? "unknown"
                }
                return "cancelled (the connection to the bus ended)"
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The service's exit information as PropertiesChanged told it.
    private struct ExitInfo: Sendable {
        var result: String?
        var code: Int32?
        var status: Int32?

        mutating func update(with changed: [String: DBusValue]) {
            if let value = changed["Result"]?.stringValue { result = value }
            if let value = changed["ExecMainCode"]?.int32Value { code = value }
            if let value = changed["ExecMainStatus"]?.int32Value { status = value }
        }

        var isFailure: Bool { result.map { $0 != "success" } ?? false }
    }

    /// Shared between the signal reader and the start that reads the reason.
    private final class ExitInfoBox: Sendable {
        let state = Mutex(ExitInfo())
    }

    /// Why the service failed. The PropertiesChanged that says so was sent before JobRemoved,
    /// but its reader may not have caught up yet: give it a moment.
    private static func reason(from info: ExitInfoBox, seenBy watcher: Task<Void, Never>, program: String) async -> String? {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await watcher.value }
            group.addTask { try? await Task.sleep(for: .seconds(1)) }
            await group.next()
            group.cancelAll()
        }
        let seen = info.state.withLock { $0 }
        guard let result = seen.result, result != "success" else { return nil }
        // CLD_EXITED with systemd's own exit statuses for failures before the program ran.
        if seen.code == 1, let status = seen.status {
            switch status {
            case 200: return "could not change to the working directory (status 200/CHDIR)"
            case 203: return "could not execute \(program) (status 203/EXEC); check that it and its interpreter exist"
            case 217: return "could not switch user (status 217/USER)"
            case 0: break
            default: return "\(result), exit status \(status)"
            }
        }
        return result
    }

    // MARK: Subscription

    private func retainSubscription() async {
        startsInFlight += 1
        if startsInFlight == 1 {
            enqueueSubscriptionCall("Subscribe")
        }
        await subscriptionCalls?.value
    }

    private func releaseSubscription() {
        startsInFlight -= 1
        if startsInFlight == 0 {
            enqueueSubscriptionCall("Unsubscribe")
        }
    }

    private func enqueueSubscriptionCall(_ member: String) {
        let previous = subscriptionCalls
        let connection = self.connection
        let logger = self.logger
        subscriptionCalls = Task {
            await previous?.value
            do {
                _ = try await connection.call(
                    destination: Self.busName, path: Self.managerPath, interface: Self.managerInterface, member: member,
                    timeout: .seconds(10))
            } catch {
                // Already subscribed (another part of the daemon) is fine; anything else shows
                // up as a start that times out, with this line to explain it.
                logger.debug("systemd user manager \(member) failed", metadata: ["error": "\(Self.text(error))"])
            }
        }
    }

    // MARK: Encoding

    /// `StartTransientUnit(s name, s mode, a(sv) properties, a(sa(sv)) aux)`.
    static func startArguments(_ unit: Unit) -> [DBusValue] {
        let execStart = DBusValue.array(
            element: .structure([.string, .array(of: .string), .boolean]),
            [.structure([.string(unit.program), .strings(unit.arguments), .boolean(false)])])
        let properties: [(String, DBusValue)] = [
            ("Description", .string(unit.description)),
            ("Type", .string("exec")),
            ("ExecStart", execStart),
            ("Environment", .strings(unit.environment)),
            ("CollectMode", .string("inactive-or-failed")),
            ("Slice", .string("app.slice")),
            // The user's home, as a desktop launcher starts applications; "-" because a
            // missing home is no reason to refuse.
            ("WorkingDirectory", .string("-~")),
        ]
        let property = DBusSignature.structure([.string, .variant])
        return [
            .string(unit.name), .string("fail"),
            .array(element: property, properties.map { .structure([.string($0.0), .variant($0.1)]) }),
            .array(element: .structure([.string, .array(of: property)]), []),
        ]
    }

    /// The unit's object path: systemd escapes every byte that is not a letter or digit as `_xx`.
    static func unitPath(_ name: String) -> DBusObjectPath {
        var label = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                label.append(Character(UnicodeScalar(byte)))
            default:
                let hex = String(byte, radix: 16)
                label += "_" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        // Only letters, digits and '_' remain, so the path is valid.
        return (try? DBusObjectPath("/org/freedesktop/systemd1/unit/" + (label.isEmpty ? "_" : label))) ?? managerPath
    }

    static func text(_ error: any Error) -> String {
        (error as? DBusError)?.message ?? "\(error)"
    }
}
