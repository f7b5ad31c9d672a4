import DBus
import Synchronization
import Testing
import TestSupport

/// GetManagedObjects and GetAll are written into the reply object by object (never as one
/// value tree): what they list must be exactly what reading each object on its own gives.
@Suite("GetManagedObjects at scale", .timeLimit(.minutes(3)))
struct ManagedObjectsAtScaleTests {
    static let manager: DBusObjectPath = "/org/example/Things"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"
    static let properties = "org.freedesktop.DBus.Properties"
    static let itemInterface = "org.example.Item"
    static let standardInterfaces = ["org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable", properties]

    /// Ten properties of assorted types, declared out of name order, whose values depend on `n`.
    static func expected(_ n: Int) -> [(String, DBusValue)] {
        [
            ("Label", .string("item \(n) ✓")),
            ("Count", .uint32(UInt32(n))),
            ("Active", .boolean(n % 3 == 0)),
            ("Tags", .strings((0..<(n % 4)).map { "tag\($0)" })),
            ("Endpoints", .array(element: "(sq)", [.structure([.string("192.0.2.\(n % 250)"), .uint16(UInt16(n % 65_000))])])),
            ("Blob", .bytes((0..<(n % 7)).map { UInt8(truncatingIfNeeded: $0 &* n) })),
            ("Owner", .objectPath(n % 2 == 0 ? "/" : try! DBusObjectPath("/org/example/Owners/o\(n)"))),
            ("Offset", .int64(-Int64(n) * 1_000_003)),
            ("Ratio", .double(Double(n) / 7)),
            ("Extra", .vardict(["n": .int32(Int32(n)), "even": .boolean(n % 2 == 0)])),
        ]
    }

    /// Every other object answers with one `readAll`, the rest getter by getter.
    static func item(_ n: Int, batched: Bool, hold: ListingHold? = nil) -> DBusInterface {
        let values = expected(n)
        let properties = values.map { name, value in
            DBusProperty(name, value.signature) {
                if let hold, name == "Label" { await hold.pass() }
                return value
            }
        }
        guard batched else { return DBusInterface(name: itemInterface, properties: properties) }
        return DBusInterface(name: itemInterface, properties: properties) {
            if let hold { await hold.pass() }
            return values.map(\.1)
        }
    }

    static func path(_ n: Int) -> DBusObjectPath {
        try! manager.appending("item\(n)")
    }

    /// `a{sv}` entries as (name, value) in wire order.
    static func entries(_ value: DBusValue?) -> [(String, DBusValue)]? {
        guard case .dictionary(.string, .variant, let entries)? = value else { return nil }
        return entries.compactMap { entry in entry.key.stringValue.flatMap { key in entry.value.variantValue.map { (key, $0) } } }
    }

    @Test("5,000 objects × 10 properties: GetManagedObjects lists exactly what each object's GetAll returns, sorted by path and name")
    func listingEqualsGetAll() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let count = 5_000
        for n in 0..<count {
            try await pair.server.objects.export([Self.item(n, batched: n % 2 == 0)], at: Self.path(n))
        }
        let reply = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects", timeout: .seconds(60))
        #expect(reply.count == 1)
        guard case .dictionary(.objectPath, "a{sa{sv}}", let objects)? = reply.first else {
            Issue.record("GetManagedObjects returned \(reply.first?.signature.rawValue ?? "nothing")")
            return
        }
        #expect(objects.count == count)
        let paths = objects.compactMap(\.key.objectPathValue)
        #expect(paths == (0..<count).map(Self.path).sorted())

        for object in objects {
            let path = try #require(object.key.objectPathValue)
            guard case .dictionary(.string, "a{sv}", let interfaces) = object.value else {
                Issue.record("\(path): \(object.value.signature)")
                return
            }
            #expect(interfaces.map(\.key) == [.string(Self.itemInterface)] + Self.standardInterfaces.map(DBusValue.string))
            let getAll = try await pair.call(path, Self.properties, "GetAll", [.string(Self.itemInterface)])
            #expect(interfaces.first?.value == getAll.first)
            for standard in interfaces.dropFirst() { #expect(Self.entries(standard.value)?.isEmpty == true) }

            // And both are what the object holds, in name order.
            let n = Int(path.rawValue.dropFirst("/org/example/Things/item".count))!
            let listed = try #require(Self.entries(interfaces.first?.value))
            let wanted = Self.expected(n).sorted { $0.0 < $1.0 }
            #expect(listed.map(\.0) == wanted.map(\.0))
            #expect(listed.map(\.1) == wanted.map(\.1), "\(path)")
        }
    }

    @Test("GetAll with no interface name lists every interface's properties, each interface by name; readAll and getters agree")
    func getAllEveryInterface() async throws {
        let pair = try await BusPair.start()
        let second = DBusInterface(
            name: "org.example.Second",
            properties: [DBusProperty("Zeta", .string) { .string("z") }, DBusProperty("Alpha", .byte) { .byte(1) }],
            readAll: { [.string("z"), .byte(1)] })
        try await pair.server.objects.export([Self.item(7, batched: false), second], at: Self.path(7))
        let all = try await pair.call(Self.path(7), Self.properties, "GetAll", [.string("")])
        let names = try #require(Self.entries(all.first)).map(\.0)
        #expect(names == Self.expected(7).map(\.0).sorted() + ["Alpha", "Zeta"])
        let one = try await pair.call(Self.path(7), Self.properties, "Get", [.string("org.example.Second"), .string("Zeta")])
        #expect(one == [.variant(.string("z"))])
    }

    @Test("objects of one interface with different properties each list their own; of two properties with one name the later is listed")
    func differentShapes() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let shapes: [[(String, DBusValue)]] = [
            [("B", .string("b")), ("A", .uint32(1))],
            [("B", .string("b")), ("C", .boolean(true))],
            [("B", .string("b")), ("A", .uint32(1))],
            [("A", .uint32(1)), ("B", .string("b")), ("A", .uint32(2))],
        ]
        for (n, shape) in shapes.enumerated() {
            let properties = shape.map { name, value in DBusProperty(name, value.signature) { value } }
            let values = shape.map(\.1)
            let readAll: DBusInterface.ReadAll? = n == 2 ? { @Sendable in values } : nil
            try await pair.server.objects.export(
                [DBusInterface(name: Self.itemInterface, properties: properties, readAll: readAll)], at: Self.path(n))
        }
        let wanted: [[(String, DBusValue)]] = [
            [("A", .uint32(1)), ("B", .string("b"))],
            [("B", .string("b")), ("C", .boolean(true))],
            [("A", .uint32(1)), ("B", .string("b"))],
            [("A", .uint32(2)), ("B", .string("b"))],
        ]
        let reply = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        guard case .dictionary(.objectPath, _, let objects)? = reply.first else {
            Issue.record("GetManagedObjects returned \(reply)")
            return
        }
        #expect(objects.count == shapes.count)
        for (n, object) in objects.enumerated() {
            guard case .dictionary(_, _, let interfaces) = object.value else { continue }
            let listed = try #require(Self.entries(interfaces.first?.value))
            #expect(listed.map(\.0) == wanted[n].map(\.0))
            #expect(listed.map(\.1) == wanted[n].map(\.1))
            let getAll = try await pair.call(Self.path(n), Self.properties, "GetAll", [.string(Self.itemInterface)])
            #expect(getAll.first == interfaces.first?.value)
        }
    }

    @Test("objects unexported while the reply is being built are left out, the rest listed whole")
    func unexportedDuringListing() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let hold = ListingHold()
        for n in 0..<100 {
            // item50 stops in its getter (batched) and item51 in its Label getter (one by one);
            // item70 is read later, after it is gone.
            let gated = n == 50 || n == 51
            try await pair.server.objects.export([Self.item(n, batched: n != 51, hold: gated ? hold : nil)], at: Self.path(n))
        }
        hold.armed.set(true)
        let listing = Task { try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects", timeout: .seconds(30)) }
        try await hold.reached.next("a getter of item50 to be reached")
        try pair.server.objects.unexport(Self.path(50))
        try pair.server.objects.unexport(Self.path(51))
        try pair.server.objects.unexport(Self.path(70))
        hold.gate.open()
        let reply = try await listing.value
        guard case .dictionary(.objectPath, _, let objects)? = reply.first else {
            Issue.record("GetManagedObjects returned \(reply)")
            return
        }
        let gone: Set<Int> = [50, 51, 70]
        #expect(objects.compactMap(\.key.objectPathValue) == (0..<100).filter { !gone.contains($0) }.map(Self.path).sorted())
        for object in objects {
            guard case .dictionary(_, _, let interfaces) = object.value else { continue }
            #expect(interfaces.count == 4)
        }
    }

    @Test("a readAll that returns too few values or a wrong type is an internal error for GetAll and leaves the object out of the listing")
    func badReadAll() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let short = DBusInterface(
            name: Self.itemInterface, properties: [DBusProperty("A", .string) { .string("a") }, DBusProperty("B", .string) { .string("b") }],
            readAll: { [.string("a")] })
        let mistyped = DBusInterface(
            name: Self.itemInterface, properties: [DBusProperty("A", .string) { .string("a") }], readAll: { [.uint32(1)] })
        try? await pair.server.objects.export([short], at: Self.path(1))
        try? await pair.server.objects.export([mistyped], at: Self.path(2))
        try await pair.server.objects.export([Self.item(3, batched: true)], at: Self.path(3))
        for n in [1, 2] {
            let error = await #expect(throws: DBusError.self) {
                _ = try await pair.call(Self.path(n), Self.properties, "GetAll", [.string(Self.itemInterface)])
            }
            #expect(error?.name == DBusError.StandardName.failed)
        }
        // Get goes to the property's own getter, which is right.
        #expect(try await pair.call(Self.path(1), Self.properties, "Get", [.string(Self.itemInterface), .string("B")]) == [.variant(.string("b"))])
        let reply = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        guard case .dictionary(.objectPath, _, let objects)? = reply.first else {
            Issue.record("GetManagedObjects returned \(reply)")
            return
        }
        #expect(objects.compactMap(\.key.objectPathValue) == [Self.path(3)])
    }

    @Test("a value libdbus would reject fails the whole listing with InvalidArgs, and the connection goes on working")
    func invalidValueInListing() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        try await pair.server.objects.export([Self.item(1, batched: true)], at: Self.path(1))
        let poisoned = DBusInterface(
            name: Self.itemInterface,
            properties: [DBusProperty("Names", .array(of: .string)) { .strings(["fine", "nul\u{0}inside"]) }])
        try? await pair.server.objects.export([poisoned], at: Self.path(2))
        try await pair.server.objects.export([Self.item(3, batched: false)], at: Self.path(3))
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        }
        #expect(error?.name == DBusError.StandardName.invalidArgs)
        let getAll = await #expect(throws: DBusError.self) {
            _ = try await pair.call(Self.path(2), Self.properties, "GetAll", [.string(Self.itemInterface)])
        }
        #expect(getAll?.name == DBusError.StandardName.invalidArgs)
        try pair.server.objects.unexport(Self.path(2))
        let reply = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        guard case .dictionary(.objectPath, _, let objects)? = reply.first else {
            Issue.record("GetManagedObjects returned \(reply)")
            return
        }
        #expect(objects.count == 2)
    }
}

/// Stops the getters that pass it, once armed, until the test opens the gate.
final class ListingHold: Sendable {
    let armed = Store(false)
    let gate = Gate()
    let reached = Reports<Void>()

    func pass() async {
        guard armed.get() else { return }
        reached.send(())
        await gate.wait()
    }
}
