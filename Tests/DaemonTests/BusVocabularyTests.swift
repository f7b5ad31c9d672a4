import Collaboration
import DBus
import PeerCollabAPI
import Testing

@testable import peercollabd

/// The daemon's bus vocabulary: one table per interface, each property of the API served
/// exactly once, each domain error with its own API error name.
@Suite struct BusVocabularyTests {
    @Test func everyDomainErrorCodeHasItsOwnAPIErrorName() {
        let names = CollaborationError.Code.allCases.map(ErrorTable.name(of:))
        #expect(Set(names).count == names.count, "two codes share a name: \(names)")
        #expect(Set(names) == Set(PeerCollabErrorName.allCases), "an API error name no code maps to")
        for name in PeerCollabErrorName.allCases {
            #expect(PeerCollabErrorName(busName: name.busName) == name)
            #expect(DBusNames.isValidErrorName(name.busName))
        }
        #expect(PeerCollabErrorName(busName: "org.freedesktop.DBus.Error.Failed") == nil)
    }

    @Test func eachTableServesEveryPropertyOfItsInterfaceOnceWithItsChangePolicy() {
        func check<Kind: ObjectKind>(_ kind: Kind.Type) {
            let served = Kind.properties.map(\.property)
            #expect(served.count == Set(served).count, "\(Kind.interfaceName) serves a property twice")
            #expect(Set(served) == Set(Kind.Property.allCases), "\(Kind.interfaceName) misses a property")
            for property in Kind.declaration.properties {
                let policy = Kind.Property(rawValue: property.name)!.change
                #expect(property.changeSignal == policy.busSignal, "\(Kind.interfaceName).\(property.name)")
            }
        }
        check(ManagerKind.self)
        check(PeerKind.self)
        check(ContactKind.self)
        check(InvitationKind.self)
        check(ApplicationKind.self)
    }

    @Test func pathsNameOneObjectEachAndParseBack() throws {
        #expect(PeerCollabBus.applicationPath("org.example.Board-2") == "/org/peercollab/PeerCollab1/application/org_2eexample_2eBoard_2d2")
        #expect(PeerCollabBus.applicationPath("a.b_c") != PeerCollabBus.applicationPath("a.b.c"))
        let peer = try #require(PeerCollabBus.object(at: PeerCollabBus.peerPath("abc234")))
        #expect(peer.kind == .peer && peer.element == "abc234")
        #expect(PeerCollabBus.object(at: PeerCollabBus.rootPath) == nil)
        #expect(PeerCollabBus.object(at: PeerCollabBus.peerPath("a") + "/deeper") == nil)
        #expect(BusPaths.peerID(fromTarget: BusPaths.contact("abc234")) == "abc234")
        #expect(BusPaths.peerID(fromTarget: BusPaths.invitation("00ff")) == nil)
    }
}
