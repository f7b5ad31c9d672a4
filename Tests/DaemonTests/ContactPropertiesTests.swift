import DBus
import Foundation
import Testing
import TestSupport

/// Contact objects answer GetAll and GetManagedObjects with one read of the contact
/// (`readAll`), and Get with one property's getter: both must give the same values under the
/// same names, or listings would show one contact's nickname as its email.
@Suite struct ContactPropertiesTests {
    @Test func getAllAndManagedObjectsAgreeWithEachGet() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let person = try ContactCards.person("Grace Hopper")
        let added = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
            member: "AddContact", arguments: [.string(person.card())])
        let path = try #require(added.first?.objectPathValue)
        // Distinct values for the properties of the same type, so a swap would show.
        _ = try await client.call(
            destination: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties", member: "Set",
            arguments: [.string(ContactCards.contactInterface), .string("Nickname"), .variant(.string("Amazing Grace"))])
        _ = try await client.call(
            destination: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties", member: "Set",
            arguments: [.string(ContactCards.contactInterface), .string("Subscribed"), .variant(.boolean(true))])

        let all = try await client.call(
            destination: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties", member: "GetAll",
            arguments: [.string(ContactCards.contactInterface)])
        let values = try #require(all.first?.vardictValue)
        #expect(values.count == 17)
        for (name, value) in values {
            let one = try await client.call(
                destination: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string(ContactCards.contactInterface), .string(name)])
            #expect(one.first?.variantValue == value, "\(name)")
        }
        #expect(values["Nickname"]?.stringValue == "Amazing Grace")
        #expect(values["DisplayName"]?.stringValue == "Grace Hopper")
        #expect(values["Email"]?.stringValue == "someone@example.org")
        #expect(values["PeerName"]?.stringValue == person.peerName)
        #expect(values["Subscribed"]?.boolValue == true && values["Online"]?.boolValue == false)
        let listed = try await client.contacts()
        #expect(listed[person.peerName] == values)
    }
}
