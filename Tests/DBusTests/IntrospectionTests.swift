import DBus
import Testing

/// Introspection data, generated from the declarations, as another D-Bus implementation
/// (sd-bus, through `busctl`) reads it.
@Suite("Introspection and Peer", .timeLimit(.minutes(1)))
struct IntrospectionTests {
    private func exported() async throws -> BusPair {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        try await PropertyObject.export(on: pair, store: PropertyObject.Values())
        return pair
    }

    @Test("busctl --xml-interface prints our XML with methods, signals, properties and annotations")
    func xml() async throws {
        let pair = try await exported()
        let result = try await busctl(pair.bus, [
            "introspect", "--xml-interface", pair.server.uniqueName, PropertyObject.path.rawValue,
        ])
        #expect(result.status == 0, "\(result)")
        let xml = result.standardOutput
        #expect(xml.contains("<interface name=\"org.example.Thing\">"))
        #expect(xml.contains("<method name=\"Bump\">"))
        #expect(xml.contains("<property name=\"Name\" type=\"s\" access=\"readwrite\"/>"))
        #expect(xml.contains("<property name=\"Count\" type=\"u\" access=\"read\">"))
        #expect(xml.contains("<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"invalidates\"/>"))
        #expect(xml.contains("<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"const\"/>"))
        #expect(xml.contains("<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"false\"/>"))
        #expect(xml.contains("<interface name=\"org.freedesktop.DBus.Properties\">"))
        #expect(xml.contains("<interface name=\"org.freedesktop.DBus.Peer\">"))
        #expect(!xml.contains("org.freedesktop.DBus.ObjectManager"))

        let echo = try await busctl(pair.bus, ["introspect", "--xml-interface", pair.server.uniqueName, EchoObject.path.rawValue])
        #expect(echo.status == 0, "\(echo)")
        #expect(echo.standardOutput.contains("<signal name=\"Tick\">"))
        #expect(echo.standardOutput.contains("<arg type=\"u\" name=\"count\"/>"))
        #expect(echo.standardOutput.contains("<arg type=\"a(sx)\" name=\"pairs\" direction=\"in\"/>"))
    }

    @Test("the XML is exactly what DBusIntrospection generates from the same declarations")
    func sameDeclarations() async throws {
        let pair = try await exported()
        let reply = try await pair.call(PropertyObject.path, "org.freedesktop.DBus.Introspectable", "Introspect")
        let xml = try #require(reply.first?.stringValue)
        #expect(xml.hasPrefix(DBusIntrospection.header))
        #expect(xml.contains(DBusIntrospection.xml(for: PropertyObject.interface(PropertyObject.Values()))))
        #expect(pair.server.objects.introspectionXML(for: PropertyObject.path) == xml)
    }

    @Test("busctl parses the XML into its member table, flags from the annotations, values from GetAll")
    func table() async throws {
        let pair = try await exported()
        let result = try await busctl(pair.bus, ["introspect", pair.server.uniqueName, PropertyObject.path.rawValue])
        #expect(result.status == 0, "\(result)")
        let rows = result.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        func row(_ member: String) -> [String]? { rows.first { $0.first == member } }

        #expect(row("org.example.Thing")?.dropFirst().first == "interface")
        #expect(row(".Bump")?.dropFirst().first == "method")
        #expect(row(".Name")?.contains("\"initial\"") == true)
        #expect(row(".Name")?.contains("writable") == true)
        #expect(row(".Name")?.contains("emits-change") == true)
        #expect(row(".Count")?.contains("emits-invalidation") == true)
        #expect(row(".Count")?.contains("writable") == false)
        #expect(row(".Serial")?.contains("const") == true)
        #expect(row(".Quiet")?.contains("emits-change") == false)
        #expect(row(".Quiet")?.contains("emits-invalidation") == false)
        #expect(row(".Quiet")?.contains("writable") == true)
        #expect(row("org.freedesktop.DBus.Properties")?.dropFirst().first == "interface")
        #expect(row(".PropertiesChanged")?.dropFirst().first == "signal")

        let echo = try await busctl(pair.bus, ["introspect", pair.server.uniqueName, EchoObject.path.rawValue])
        #expect(echo.status == 0, "\(echo)")
        #expect(echo.standardOutput.contains("org.example.Echo"))
        #expect(echo.standardOutput.contains(".Echo"))
        #expect(echo.standardOutput.contains(".Tick"))
        #expect(echo.standardOutput.contains("a{sv}"))
    }

    @Test("busctl tree walks the intermediate nodes down to the exported objects")
    func tree() async throws {
        let pair = try await exported()
        let result = try await busctl(pair.bus, ["tree", "--list", pair.server.uniqueName])
        #expect(result.status == 0, "\(result)")
        let paths = Set(result.standardOutput.split(separator: "\n").map(String.init))
        #expect(paths.isSuperset(of: [
            "/", "/org", "/org/example", "/org/example/Echo", "/org/example/Things", "/org/example/Things/first",
        ]), "\(paths)")
    }

    @Test("intermediate nodes introspect with their children and no interfaces of their own")
    func intermediateNodes() async throws {
        let pair = try await exported()
        let introspect = "org.freedesktop.DBus.Introspectable"
        let root = try #require(try await pair.call("/", introspect, "Introspect").first?.stringValue)
        #expect(root.contains("<node name=\"org\"/>"))
        let example = try #require(try await pair.call("/org/example", introspect, "Introspect").first?.stringValue)
        #expect(example.contains("<node name=\"Echo\"/>"))
        #expect(example.contains("<node name=\"Things\"/>"))
        #expect(!example.contains("org.example.Echo\""))
        let things = try #require(try await pair.call("/org/example/Things", introspect, "Introspect").first?.stringValue)
        #expect(things.contains("<node name=\"first\"/>"))
        #expect(!things.contains("<node name=\"Echo\"/>"))
    }

    @Test("busctl reads and writes properties and calls methods with sd-bus's marshalling")
    func busctlCalls() async throws {
        let pair = try await exported()
        let name = pair.server.uniqueName
        let path = PropertyObject.path.rawValue
        let get = try await busctl(pair.bus, ["get-property", name, path, PropertyObject.interfaceName, "Name", "Tags"])
        #expect(get.status == 0, "\(get)")
        #expect(get.standardOutput == "s \"initial\"\nas 2 \"a\" \"b\"\n")

        let set = try await busctl(pair.bus, ["set-property", name, path, PropertyObject.interfaceName, "Name", "s", "from busctl"])
        #expect(set.status == 0, "\(set)")
        let after = try await pair.call(
            PropertyObject.path, "org.freedesktop.DBus.Properties", "Get", [.string(PropertyObject.interfaceName), .string("Name")])
        #expect(after == [.variant(.string("from busctl"))])

        let readOnly = try await busctl(pair.bus, ["set-property", name, path, PropertyObject.interfaceName, "Count", "u", "3"])
        #expect(readOnly.status != 0)
        #expect(readOnly.standardError.contains("not writable"), "\(readOnly)")

        let echo = try await busctl(pair.bus, [
            "call", "--", name, EchoObject.path.rawValue, EchoObject.interfaceName, "Echo", "v", "a{sv}", "2", "n", "x", "-9", "s", "s", "é",
        ])
        #expect(echo.status == 0, "\(echo)")
        // busctl prints non-ASCII bytes as octal escapes: these are the two UTF-8 bytes of "é".
        #expect(echo.standardOutput == "v a{sv} 2 \"n\" x -9 \"s\" s \"\\303\\251\"\n")
    }

    @Test("org.freedesktop.DBus.Peer.Ping is answered on an exported path (by libdbus)")
    func ping() async throws {
        let pair = try await exported()
        let reply = try await pair.call(EchoObject.path, "org.freedesktop.DBus.Peer", "Ping")
        #expect(reply.isEmpty)
        let viaBusctl = try await busctl(pair.bus, ["call", pair.server.uniqueName, "/", "org.freedesktop.DBus.Peer", "Ping"])
        #expect(viaBusctl.status == 0, "\(viaBusctl)")
    }
}
