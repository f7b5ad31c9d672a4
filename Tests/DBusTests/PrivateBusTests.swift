import DBus
import TestSupport
import Testing

/// The private bus every test runs on: it must never start a program installed on this
/// machine (the host's session and system service folders hold some), and it must take what
/// a session bus takes.
@Suite("The tests' private bus", .timeLimit(.minutes(1)))
struct PrivateBusTests {
    @Test("activates nothing: the bus itself is the only activatable name", arguments: [PrivateBus.Kind.session, .system])
    func activatesNothing(kind: PrivateBus.Kind) async throws {
        let bus = try await onOwnThread { try PrivateBus(kind) }
        let connection = try await bus.connect()
        defer { connection.close() }
        let names = try await connection.call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "ListActivatableNames").first?.stringArrayValue
        #expect(names == ["org.freedesktop.DBus"], "\(String(describing: names))")
        // A name nobody owns is not started but refused at once.
        let error = await #expect(throws: DBusError.self) {
            _ = try await connection.call(
                destination: "org.a11y.Bus", path: "/org/a11y/bus", interface: "org.a11y.Bus", member: "GetAddress",
                timeout: .seconds(5))
        }
        #expect(error?.name == "org.freedesktop.DBus.Error.ServiceUnknown", "\(String(describing: error))")
    }

    @Test("ends with stop(): its clients are disconnected")
    func stopDisconnects() async throws {
        let bus = try await PrivateBus.start()
        let connection = try await bus.connect()
        defer { connection.close() }
        bus.stop()
        try await eventually(within: .seconds(10), "the client to notice the bus is gone") {
            connection.isConnected ? nil : true
        }
        bus.stop()  // Idempotent: no second signal to a pid that may be someone else's now.
    }
}
