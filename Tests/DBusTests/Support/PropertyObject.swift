import DBus
import TestSupport

/// An object with one property of each way of announcing changes.
enum PropertyObject {
    static let path: DBusObjectPath = "/org/example/Things/first"
    static let interfaceName = "org.example.Thing"

    final class Values: Sendable {
        let name = Store("initial")
        let count = Store<UInt32>(1)
        let quiet = Store<Int32>(-1)
    }

    /// Name: read-write, PropertiesChanged carries the value. Count: read-only, invalidated.
    /// Serial: constant. Quiet: read-write, changes silently.
    static func interface(_ values: Values) -> DBusInterface {
        DBusInterface(
            name: interfaceName,
            methods: [
                DBusMethod("Bump") { _ in
                    values.count.set(values.count.get() + 1)
                    return []
                },
            ],
            properties: [
                DBusProperty("Name", .string, get: { .string(values.name.get()) }, set: { value, _ in
                    guard let text = value.stringValue, !text.isEmpty else {
                        throw DBusError.invalidArgs("A name cannot be empty.")
                    }
                    values.name.set(text)
                }),
                DBusProperty("Count", .uint32, changeSignal: .invalidates, get: { .uint32(values.count.get()) }),
                DBusProperty("Serial", .string, changeSignal: .constant, get: { .string("SN-0001") }),
                DBusProperty("Quiet", .int32, changeSignal: .none, get: { .int32(values.quiet.get()) }, set: { value, _ in
                    values.quiet.set(value.int32Value!)
                }),
                DBusProperty("Tags", .array(of: .string), get: { .strings(["a", "b"]) }),
            ])
    }

    static func export(on pair: BusPair, store: Values) async throws {
        try await pair.server.objects.export([interface(store)], at: path)
    }
}
