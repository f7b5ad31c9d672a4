import Foundation
import Testing

@testable import Collaboration

@Suite("The SQLite store")
struct CollaborationStoreTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "store-\(UUID().uuidString)").path
    }

    var databasePath: String { directory + "/peercollab.db" }

    static let contact = ContactRecord(
        peerName: "abcdefghijklmnopqrstuvwxyz234567", certificateDER: [0x30, 0x82, 0x00, 0xff],
        displayName: "Zoë ☃", nickname: "zo", email: "zoe@example.org", verified: true, subscribeAllowed: true,
        subscribed: false, endpoints: [ContactEndpoint(host: "2001:db8::1", port: 46773), ContactEndpoint(host: "192.0.2.7", port: 1)],
        added: 1_700_000_000_000_000)

    @Test func contactsOutliveTheStore() throws {
        do {
            let store = try CollaborationStore(directory: directory)
            try store.saveContact(Self.contact)
            var other = Self.contact
            other.peerName = "b" + other.peerName.dropFirst()
            other.endpoints = []
            try store.saveContact(other)
        }
        let reopened = try CollaborationStore(directory: directory)
        let contacts = try reopened.allContacts().sorted { $0.peerName < $1.peerName }
        #expect(contacts.count == 2)
        #expect(contacts[0] == Self.contact)
        #expect(contacts[1].endpoints.isEmpty)
    }

    @Test func savingAgainReplacesFieldsAndEndpoints() throws {
        let store = try CollaborationStore(directory: directory)
        try store.saveContact(Self.contact)
        var changed = Self.contact
        changed.nickname = "Z"
        changed.subscribed = true
        changed.endpoints = [ContactEndpoint(host: "peer.example", port: 9)]
        changed.added = 5  // the first addition time stays
        try store.saveContact(changed)
        let stored = try #require(try store.allContacts().first)
        #expect(stored.nickname == "Z")
        #expect(stored.subscribed)
        #expect(stored.endpoints == [ContactEndpoint(host: "peer.example", port: 9)])
        #expect(stored.added == Self.contact.added)
    }

    @Test func deletingAContactTakesItsEndpoints() throws {
        let store = try CollaborationStore(directory: directory)
        try store.saveContact(Self.contact)
        #expect(try store.deleteContact(peerName: Self.contact.peerName))
        #expect(try !store.deleteContact(peerName: Self.contact.peerName))
        #expect(try store.allContacts().isEmpty)
        #expect(try store.database.integer("SELECT count(*) FROM contact_endpoints") == 0)
    }

    @Test func objectsAndApplicationsRoundTrip() throws {
        do {
            let store = try CollaborationStore(directory: directory)
            try store.saveObject(ObjectRecord(id: "avatar.png", revision: 3, data: Array(repeating: 0xab, count: 65536), updated: 7))
            try store.saveObject(ObjectRecord(id: "empty", revision: 1, data: [], updated: 8))
            try store.saveApplication(
                ApplicationRecord(
                    id: "org.example.Board", name: "Board", description: "", exec: ["/usr/bin/board", "", "--x=y z"],
                    desktopID: "", data: [0, 1, 2], scope: "all", registered: 9))
            try store.saveApplication(
                ApplicationRecord(
                    id: "org.example.Game", name: "Game", description: "d", exec: [], desktopID: "org.example.Game.desktop",
                    data: [], scope: "near-me", registered: 10))
        }
        let store = try CollaborationStore(directory: directory)
        let objects = try store.allObjects()
        #expect(objects.map(\.id) == ["avatar.png", "empty"])
        #expect(objects[0].data.count == 65536 && objects[0].revision == 3)
        #expect(objects[1].data == [])
        let applications = try store.allApplications()
        #expect(applications.map(\.id) == ["org.example.Board", "org.example.Game"])
        #expect(applications[0].exec == ["/usr/bin/board", "", "--x=y z"])
        #expect(applications[1].exec == [])
        #expect(try store.deleteObject(id: "empty"))
        #expect(try store.deleteApplication(id: "org.example.Game"))
        #expect(try store.allObjects().count == 1 && store.allApplications().count == 1)
    }

    @Test func theFileIsPrivateAndWriteAheadLogged() throws {
        let store = try CollaborationStore(directory: directory)
        try store.saveObject(ObjectRecord(id: "x", revision: 1, data: [1], updated: 1))
        let attributes = try FileManager.default.attributesOfItem(atPath: databasePath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let mode = try store.database.statement("PRAGMA journal_mode")
        #expect(try mode.step() && mode.text(0) == "wal")
        #expect(try store.database.integer("PRAGMA synchronous") == 2)  // FULL
    }

    @Test func aDatabaseFromANewerVersionIsRefusedAndLeftAlone() throws {
        do {
            let store = try CollaborationStore(directory: directory)
            try store.saveContact(Self.contact)
            try store.database.execute("PRAGMA user_version=\(StoreSchema.currentVersion + 1)")
            try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let before = try Data(contentsOf: URL(filePath: databasePath))
        let error = #expect(throws: StoreError.self) { try CollaborationStore(directory: directory) }
        #expect(error?.code == .newerSchema)
        #expect(error?.message.contains(databasePath) == true)
        #expect(try Data(contentsOf: URL(filePath: databasePath)) == before)
    }

    @Test func aFileThatIsNotADatabaseIsKeptAsideAndAFreshOneServes() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let garbage = Data("these are not the contacts you are looking for\n".utf8) + Data(repeating: 0x5a, count: 8192)
        try garbage.write(to: URL(filePath: databasePath))
        let store = try CollaborationStore(directory: directory)
        let copy = try #require(store.damagedCopy)
        #expect(try Data(contentsOf: URL(filePath: copy)) == garbage)
        try store.saveContact(Self.contact)
        #expect(try store.allContacts() == [Self.contact])
    }

    @Test func aDatabaseWithDamagedPagesIsKeptAside() throws {
        do {
            let store = try CollaborationStore(directory: directory)
            for index in 0..<200 {
                var contact = Self.contact
                contact.peerName = String(format: "%032d", index)
                try store.saveContact(contact)
            }
            try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        // Scribble over the middle of the file, past the header: table pages, not the schema.
        let handle = try FileHandle(forUpdating: URL(filePath: databasePath))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(repeating: 0xee, count: 4096))
        try handle.close()
        let store = try CollaborationStore(directory: directory)
        #expect(store.damagedCopy != nil)
        #expect(try store.allContacts().isEmpty)
    }

    @Test func argvWithEmptyArgumentsSurvivesTheNulEncoding() {
        for argv in [[], [""], ["", ""], ["a"], ["a", "", "b c", "ünï"]] as [[String]] {
            #expect(CollaborationStore.argv(CollaborationStore.bytes(argv)) == argv)
        }
    }
}
