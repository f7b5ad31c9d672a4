import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// The contact list on a real daemon on a real private bus, driven with busctl, peercollabctl
/// and plain D-Bus calls; the store is the daemon's own SQLite file.
@Suite struct ContactsBusTests {
    let bus: PrivateBus
    let client: DBusConnection
    static let errorPrefix = PeerCollabBus.errorPrefix

    init() throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
    }

    func busctl(_ arguments: [String]) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run("/usr/bin/busctl", ["--address=\(bus.address)"] + arguments)
    }

    func ctl(_ arguments: [String], input: String? = nil) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(ProcessRunner.ctlPath, arguments + ["--bus", bus.address], input: input)
    }

    func addContactWithBusctl(_ card: String) async throws -> ProcessRunner.Output {
        try await busctl(["call", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "AddContact", "s", card])
    }

    // MARK: Add, show, nickname, verify, remove

    @Test func addShowNicknameVerifyAndRemoveWithBusctlAndPeercollabctl() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let ada = try ContactCards.person("Ada Lovelace")
        let added = try await firstElementAfter(
            subscribing: DBusMatchRule(path: DaemonProcess.root, interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesAdded"),
            what: "InterfacesAdded for the new contact"
        ) {
            let output = try await addContactWithBusctl(ada.card())
            #expect(output.status == 0, "\(output.standardError)")
            #expect(output.standardOutput == "o \"\(ContactCards.contactPath(ada.peerName).rawValue)\"\n")
        }
        #expect(added.arguments().first?.objectPathValue == ContactCards.contactPath(ada.peerName))

        let path = ContactCards.contactPath(ada.peerName).rawValue
        let name = try await busctl(["get-property", DaemonProcess.service, path, ContactCards.contactInterface, "DisplayName", "Verified", "PeerName", "Online", "Peer"])
        #expect(name.standardOutput == "s \"Ada Lovelace\"\nb true\ns \"\(ada.peerName)\"\nb false\no \"/\"\n", "\(name.standardError)")

        // Adding the same key again returns the same contact and makes no second one.
        let again = try await addContactWithBusctl(ada.card())
        #expect(again.standardOutput == "o \"\(path)\"\n")
        #expect(try await client.contacts().count == 1)

        let changes = try await client.subscribe(to: DBusMatchRule(path: ContactCards.contactPath(ada.peerName), interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        let nick = try await ctl(["contact", "nick", String(ada.peerName.prefix(6)), "Countess"])
        #expect(nick.status == 0, "\(nick.standardError)")
        let signal = try await firstElement(of: changes, what: "PropertiesChanged for Nickname")
        #expect(signal.arguments().dropFirst().first?.vardictValue?["Nickname"]?.stringValue == "Countess")

        // Unverify with busctl, verify with the ctl (found by nickname), without a terminal.
        let unverify = try await busctl(["set-property", DaemonProcess.service, path, ContactCards.contactInterface, "Verified", "b", "false"])
        #expect(unverify.status == 0, "\(unverify.standardError)")
        let refused = try await ctl(["contact", "verify", "countess"])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("--yes"))
        #expect(try await client.contactProperty(ada.peerName, "Verified")?.boolValue == false)
        let verify = try await ctl(["contact", "verify", "countess", "--yes"])
        #expect(verify.status == 0, "\(verify.standardError)")
        let code = try #require(try await client.contactProperty(ada.peerName, "VerificationCode")?.stringValue)
        #expect(verify.standardOutput.contains(code))
        #expect(try await client.contactProperty(ada.peerName, "Verified")?.boolValue == true)

        let list = try await ctl(["contacts", "--json"])
        #expect(list.standardOutput.contains("\"Nickname\":\"Countess\""), "\(list.standardOutput)")
        let table = try await ctl(["contacts"])
        #expect(table.standardOutput.contains("Countess"))
        let show = try await ctl(["contact", "show", "Ada Lovelace"])
        #expect(show.standardOutput.contains("192.0.2.9:4000"), "\(show.standardOutput)")

        // The card it gives back is the one it was given (same key, name, endpoints).
        let card = try await busctl(["call", DaemonProcess.service, path, ContactCards.contactInterface, "GetCard"])
        #expect(card.standardOutput.contains(ada.peerName))

        let allow = try await ctl(["contact", "deny", "countess"])
        #expect(allow.status == 0)
        #expect(try await client.contactProperty(ada.peerName, "SubscribeAllowed")?.boolValue == false)
        let unsubscribe = try await ctl(["contact", "unsubscribe", "countess"])
        #expect(unsubscribe.status == 0)
        #expect(try await client.contactProperty(ada.peerName, "Subscribed")?.boolValue == false)

        let removed = try await firstElementAfter(
            subscribing: DBusMatchRule(path: DaemonProcess.root, interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesRemoved"),
            what: "InterfacesRemoved for the contact"
        ) {
            let remove = try await ctl(["contact", "remove", "countess"])
            #expect(remove.status == 0, "\(remove.standardError)")
        }
        #expect(removed.arguments().first?.objectPathValue == ContactCards.contactPath(ada.peerName))
        #expect(try await client.contacts().isEmpty)
        let gone = try await busctl(["get-property", DaemonProcess.service, path, ContactCards.contactInterface, "DisplayName"])
        #expect(gone.status != 0)
    }

    /// Peer.AddToContacts pins the key of the session: an unverified contact, linked both ways
    /// with the peer object, that may not see my presence until allowed.
    @Test func addToContactsPinsTheConnectedPeersKey() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let otherBus = try PrivateBus()
        let otherClient = try DBusConnection(bus: .address(otherBus.address))
        let other = try DaemonProcess(bus: otherBus)
        try await other.waitUntilServing(otherClient)
        _ = try await otherClient.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager, member: "SignIn",
            arguments: [.string("internet")])
        func managerProperty(_ connection: DBusConnection, _ name: String) async throws -> DBusValue? {
            try await connection.call(
                destination: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
                member: "Get", arguments: [.string(DaemonProcess.manager), .string(name)]
            ).first?.variantValue
        }
        let name = try #require(try await managerProperty(otherClient, "PeerName")?.stringValue)
        let port = try #require(try await managerProperty(otherClient, "Endpoints")?.arrayElements?.first?.structureFields?[1].uint16Value)
        let peerPath = try #require(try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager, member: "Connect",
            arguments: [.string("peercollab:\(name)@127.0.0.1:\(port)")]
        ).first?.objectPathValue)
        let peerChanges = try await client.subscribe(to: DBusMatchRule(path: peerPath, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        let added = try await busctl(["call", DaemonProcess.service, peerPath.rawValue, PeerCollabBus.Interface.peer, "AddToContacts"])
        #expect(added.standardOutput == "o \"\(ContactCards.contactPath(name).rawValue)\"\n", "\(added.standardError)")
        let signal = try await firstElement(of: peerChanges, what: "Peer.Contact changed") {
            $0.arguments().dropFirst().first?.vardictValue?["Contact"] != nil
        }
        #expect(signal.arguments().dropFirst().first?.vardictValue?["Contact"]?.objectPathValue == ContactCards.contactPath(name))
        let contact = try #require(try await client.contacts()[name])
        #expect(contact["Verified"]?.boolValue == false)
        #expect(contact["SubscribeAllowed"]?.boolValue == false)
        #expect(contact["Online"]?.boolValue == true)
        #expect(contact["Peer"]?.objectPathValue == peerPath)
        #expect(BusValuesText.endpoints(contact["Endpoints"]) == ["127.0.0.1:\(port)"])
        // The code of the pinned key is the code of the session.
        let sessionCode = try await client.call(
            destination: DaemonProcess.service, path: peerPath, interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(PeerCollabBus.Interface.peer), .string("VerificationCode")]
        ).first?.variantValue?.stringValue
        #expect(contact["VerificationCode"]?.stringValue == sessionCode)
        // Again: the same contact, nothing new.
        let again = try await busctl(["call", DaemonProcess.service, peerPath.rawValue, PeerCollabBus.Interface.peer, "AddToContacts"])
        #expect(again.standardOutput == added.standardOutput)

        // Removed: the peer stays, and no longer points at a contact.
        _ = try await busctl(["call", DaemonProcess.service, ContactCards.contactPath(name).rawValue, ContactCards.contactInterface, "Remove"])
        let contactNow = try await client.call(
            destination: DaemonProcess.service, path: peerPath, interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(PeerCollabBus.Interface.peer), .string("Contact")]
        ).first?.variantValue?.objectPathValue
        #expect(contactNow == DBusObjectPath.root)
    }

    @Test func contactIntrospectionMatchesTheInterfaceFile() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let bea = try ContactCards.person("Bea")
        let path = try await client.addContact(bea.card())
        try await InterfaceFiles.expectMatch(PeerCollabBus.Interface.contact, at: path, on: client)
    }

    @Test func endpointsAreValidatedAndBounded() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let cy = try ContactCards.person("Cy")
        let path = try await client.addContact(cy.card(endpoints: [])).rawValue
        func endpoint(_ member: String, _ host: String, _ port: String) async throws -> ProcessRunner.Output {
            try await busctl(["call", DaemonProcess.service, path, ContactCards.contactInterface, member, "sq", host, port])
        }
        #expect(try await endpoint("AddEndpoint", "not a host!", "4000").standardError.contains("neither an IP address nor a host name"))
        #expect(try await endpoint("AddEndpoint", "192.0.2.1", "0").standardError.contains("port 0"))
        #expect(try await endpoint("RemoveEndpoint", "192.0.2.1", "4000").standardError.contains("no endpoint"))
        for port in 1...32 { #expect(try await endpoint("AddEndpoint", "192.0.2.1", "\(port)").status == 0) }
        // Idempotent: an endpoint already there is not added twice, nor refused.
        #expect(try await endpoint("AddEndpoint", "192.0.2.1", "1").status == 0)
        let full = try await endpoint("AddEndpoint", "2001:db8::1", "4000")
        #expect(full.standardError.contains("32 endpoints"), "\(full.standardError)")
        #expect(try await endpoint("RemoveEndpoint", "192.0.2.1", "7").status == 0)
        let endpoints = try await client.contactProperty(cy.peerName, "Endpoints")?.arrayElements ?? []
        #expect(endpoints.count == 31)
    }

    // MARK: Bad input

    @Test func badCardsAndNamesAreRefusedWithTypedErrorsAndNothingIsStored() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let dee = try ContactCards.person("Dee")
        let eve = try ContactCards.person("Eve")
        let good = dee.card()
        let myCard = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager, member: "GetContactCard"
        ).first?.stringValue ?? ""
        // Replaces the content line starting with `prefix`, folded continuation lines and all.
        func replacing(_ prefix: String, with line: String) -> String {
            var out: [String] = []
            var skipping = false
            for physical in good.split(separator: "\r\n", omittingEmptySubsequences: false) {
                if skipping, physical.hasPrefix(" ") { continue }
                skipping = physical.hasPrefix(prefix)
                out.append(skipping ? line : String(physical))
            }
            return out.joined(separator: "\r\n")
        }
        // A KEY of the right DER shape that is no certificate (an empty SEQUENCE of a SEQUENCE).
        let notACertificate = replacing("KEY", with: "KEY;MEDIATYPE=application/pkix-cert:data:application/pkix-cert;base64\\,MAQwAgUA")
        let cases: [(what: String, card: String, error: String, fragment: String)] = [
            ("not a vCard", "hello, this is my card", "InvalidCard", "not a contact card"),
            ("no key", replacing("KEY", with: "NOTE:no key here"), "InvalidCard", "no KEY"),
            ("malformed certificate", notACertificate, "InvalidCard", "not a usable X.509 certificate"),
            ("key not matching the peer name", dee.card(peerName: eve.peerName), "InvalidCard", "its certificate's key gives"),
            ("huge", good.replacingOccurrences(of: "END:VCARD", with: "NOTE:" + String(repeating: "x", count: 70_000) + "\r\nEND:VCARD"), "InvalidCard", "too large"),
            ("repeated fields", replacing("FN", with: "FN:Dee\r\nFN:Someone else"), "InvalidCard", "FN twice"),
            ("control characters in the name", replacing("FN", with: "FN:De\u{7}e"), "InvalidCard", "control character"),
            ("bidi override in the name", replacing("FN", with: "FN:Dee\u{202E}gnp.exe"), "InvalidCard", "control character"),
            ("my own card", myCard, "InvalidArgument", "your own"),
        ]
        for item in cases {
            do {
                _ = try await client.addContact(item.card)
                Issue.record("\(item.what) was accepted")
            } catch let error as DBusError {
                #expect(error.name == Self.errorPrefix + item.error, "\(item.what): \(error.name) \(error.message)")
                #expect(error.message.contains(item.fragment), "\(item.what): \(error.message)")
            }
        }
        #expect(try await client.contacts().isEmpty)

        // Names set through the bus have the same limits.
        _ = try await client.addContact(good)
        let path = ContactCards.contactPath(dee.peerName).rawValue
        for (nickname, fragment) in [("tab\there", "control characters"), (String(repeating: "n", count: 129), "at most 128"), ("   ", "white space"), ("a\u{202E}b", "U+202E")] {
            let output = try await busctl(["set-property", DaemonProcess.service, path, ContactCards.contactInterface, "Nickname", "s", nickname])
            #expect(output.status != 0)
            #expect(output.standardError.contains(fragment), "\(output.standardError)")
        }
        #expect(try await client.contactProperty(dee.peerName, "Nickname")?.stringValue == "")
        let wrongType = try await busctl(["set-property", DaemonProcess.service, path, ContactCards.contactInterface, "Verified", "s", "yes"])
        #expect(wrongType.status != 0)
        let readOnly = try await busctl(["set-property", DaemonProcess.service, path, ContactCards.contactInterface, "Online", "b", "true"])
        #expect(readOnly.status != 0)
        #expect(daemon.isRunning)

        // The ctl reads a card from standard input and reports the daemon's reason.
        let piped = try await ctl(["contact", "add", "-"], input: "BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n")
        #expect(piped.status == 1)
        #expect(piped.standardError.contains("vCard 4.0"), "\(piped.standardError)")
        let ambiguous = try await ctl(["contact", "show", "nobody-like-this"])
        #expect(ambiguous.status == 1)
        #expect(ambiguous.standardError.contains("No contact matches"))
        #expect(try await client.contacts().count == 1)
    }

    // MARK: Durability

    @Test func contactsSurviveARestart() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let people = try ["Fay", "Gus", "Hal"].map(ContactCards.person)
        for person in people { _ = try await client.addContact(person.card()) }
        let nick = try await ctl(["contact", "nick", "Gus", "Gustav"])
        #expect(nick.status == 0, "\(nick.standardError)")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)

        let again = try DaemonProcess(bus: bus, home: daemon.home)
        try await again.waitUntilServing(client)
        let contacts = try await client.contacts()
        #expect(Set(contacts.keys) == Set(people.map(\.peerName)))
        #expect(contacts[people[1].peerName]?["Nickname"]?.stringValue == "Gustav")
        #expect(contacts[people[0].peerName]?["DisplayName"]?.stringValue == "Fay")
    }

    /// A script adds contacts and renames one as fast as it can while the daemon is killed
    /// with SIGKILL at a random moment; after each restart every change the script saw
    /// acknowledged is there.
    @Test func killMinus9DuringWritesLosesNothingAcknowledged() async throws {
        let rounds = 10
        let perRound = 12
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("killloop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var names: [String] = []
        for index in 0..<(rounds * perRound) {
            let person = try ContactCards.person("Person \(index)")
            names.append(person.peerName)
            try person.card().write(to: folder.appendingPathComponent(String(format: "%04d.vcf", index)), atomically: true, encoding: .utf8)
        }
        let anchor = try ContactCards.person("Anchor")
        var daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        _ = try await client.addContact(anchor.card())
        let anchorPath = ContactCards.contactPath(anchor.peerName).rawValue
        let acknowledged = folder.appendingPathComponent("acknowledged")
        var lastNickname = -1

        for round in 0..<rounds {
            let first = round * perRound
            // Each change is written to the file only after busctl saw the reply; the script
            // stops at the first failure (the daemon is gone).
            let script = """
                for i in $(seq \(first) \(first + perRound - 1)); do
                  f=$(printf '%s/%04d.vcf' '\(folder.path)' $i)
                  busctl --address='\(bus.address)' call \(DaemonProcess.service) \(DaemonProcess.root.rawValue) \(DaemonProcess.manager) AddContact s "$(cat $f)" >/dev/null 2>&1 || exit 0
                  echo "add $i" >> '\(acknowledged.path)'
                  busctl --address='\(bus.address)' set-property \(DaemonProcess.service) \(anchorPath) \(ContactCards.contactInterface) Nickname s "n$i" >/dev/null 2>&1 || exit 0
                  echo "nick $i" >> '\(acknowledged.path)'
                done
                """
            let writer = try Subprocess("/bin/bash", ["-c", script], captureOutput: false, outputFile: folder.appendingPathComponent("writer.log").path)
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...250)))
            daemon.signal(SIGKILL)
            _ = try await daemon.waitForExit()
            while writer.isRunning { try await Task.sleep(for: .milliseconds(10)) }

            daemon = try DaemonProcess(bus: bus, home: daemon.home)
            try await daemon.waitUntilServing(client)
            let lines = ((try? String(contentsOf: acknowledged, encoding: .utf8)) ?? "").split(separator: "\n")
            let added = lines.filter { $0.hasPrefix("add ") }.compactMap { Int($0.dropFirst(4)) }
            let nicknames = lines.filter { $0.hasPrefix("nick ") }.compactMap { Int($0.dropFirst(5)) }
            let contacts = try await client.contacts()
            for index in added {
                #expect(contacts[names[index]] != nil, "round \(round): the acknowledged contact \(index) is gone")
            }
            if let last = nicknames.last { lastNickname = last }
            if lastNickname >= 0 {
                // The last acknowledged name, or a later one whose reply the kill cut off.
                let shown = contacts[anchor.peerName]?["Nickname"]?.stringValue ?? ""
                let number = Int(shown.dropFirst()) ?? -1
                #expect(number >= lastNickname, "round \(round): nickname \(shown), but n\(lastNickname) was acknowledged")
            }
            #expect(contacts.count >= added.count + 1)
        }
        let total = ((try? String(contentsOf: acknowledged, encoding: .utf8)) ?? "").split(separator: "\n").count
        #expect(total > 0, "the writer never got a change through; the kill came too early every time")
        print("kill -9 loop: \(rounds) rounds, \(total) acknowledged changes checked")
    }

    @Test func aDamagedDatabaseIsMovedAsideAndTheDaemonStarts() async throws {
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let data = home.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = data.appendingPathComponent("peercollab.db")
        try Data(String(repeating: "this is not a database; ", count: 400).utf8).write(to: file)
        let daemon = try DaemonProcess(bus: bus, home: home)
        try await daemon.waitUntilServing(client)
        #expect(daemon.log.contains("damaged"), "\(daemon.log)")
        let copies = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("peercollab.db.damaged-") }
        let copy = try #require(copies.first, "no copy of the damaged file in \(data.path)")
        #expect(daemon.log.contains(copy), "the log does not say where the copy went:\n\(daemon.log)")
        #expect(try Data(contentsOf: data.appendingPathComponent(copy)).starts(with: Data("this is not a database".utf8)))
        // And the new, empty store works.
        let ivy = try ContactCards.person("Ivy")
        _ = try await client.addContact(ivy.card())
        #expect(try await client.contacts().count == 1)
    }

    @Test func aDatabaseFromANewerVersionIsRefusedWithItsName() async throws {
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let data = home.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = data.appendingPathComponent("peercollab.db")
        let made = try await ProcessRunner.run("/usr/bin/sqlite3", [file.path, "CREATE TABLE future (x); PRAGMA user_version = 99;"])
        #expect(made.status == 0, "\(made.standardError)")
        let before = try Data(contentsOf: file)
        let daemon = try DaemonProcess(bus: bus, home: home)
        let status = try await daemon.waitForExit()
        #expect(status != 0)
        #expect(daemon.log.contains(file.path), "\(daemon.log)")
        #expect(daemon.log.contains("newer peercollab"), "\(daemon.log)")
        #expect(try Data(contentsOf: file) == before, "the newer database was changed")
    }

    /// Subscribes to a signal, runs `action`, and returns the first such signal.
    func firstElementAfter(
        subscribing rule: DBusMatchRule, what: String, _ action: () async throws -> Void
    ) async throws -> DBusMessage {
        let stream = try await client.subscribe(to: rule)
        try await action()
        return try await firstElement(of: stream, what: what)
    }
}

/// D-Bus values as the text tests compare.
enum BusValuesText {
    static func endpoints(_ value: DBusValue?) -> [String] {
        (value?.arrayElements ?? []).compactMap { item in
            guard let fields = item.structureFields, fields.count == 2, let host = fields[0].stringValue, let port = fields[1].uint16Value
            else { return nil }
            return "\(host):\(port)"
        }
    }
}
