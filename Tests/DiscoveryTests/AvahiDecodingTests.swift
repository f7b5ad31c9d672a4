import DBus
import Testing

@testable import Discovery

@Suite("Avahi replies and TXT records, including hostile ones")
struct AvahiDecodingTests {
    @Test func txtRoundTripsAndSortsKeys() throws {
        let entries = try AvahiTXT.encode(["v": "1", "pn": "alice", "dn": "Älice 🐧"])
        #expect(entries.map { String(decoding: $0, as: UTF8.self) } == ["dn=Älice 🐧", "pn=alice", "v=1"])
        #expect(AvahiTXT.decode(entries) == ["v": "1", "pn": "alice", "dn": "Älice 🐧"])
    }

    @Test func txtEncodingRefusesWhatDNSCannotCarry() {
        #expect(throws: AvahiError.self) { try AvahiTXT.encode(["": "x"]) }
        #expect(throws: AvahiError.self) { try AvahiTXT.encode(["a=b": "x"]) }
        #expect(throws: AvahiError.self) { try AvahiTXT.encode(["ключ": "x"]) }
        #expect(throws: AvahiError.self) { try AvahiTXT.encode(["k": String(repeating: "x", count: 254)]) }
        #expect((try? AvahiTXT.encode(["k": String(repeating: "x", count: 253)])) != nil)
    }

    @Test func txtDecodingSurvivesHostileEntries() {
        let binary: [UInt8] = Array("bin=".utf8) + [0xFF, 0xFE, 0x00, 0x80]
        let entries: [[UInt8]] = [
            [],  // empty string: no key
            Array("=novalue".utf8),  // empty key
            Array("flag".utf8),  // boolean attribute
            Array("PN=first".utf8),  // keys are case-insensitive, first wins
            Array("pn=second".utf8),
            binary,  // not UTF-8: dropped
            [0x01, 0x3D, 0x41],  // control character in the key
            Array(repeating: UInt8(ascii: "x"), count: 300),  // longer than DNS allows
            Array("eq=a=b".utf8),  // only the first '=' separates
        ]
        let txt = AvahiTXT.decode(entries)
        #expect(txt == ["flag": "", "pn": "first", "eq": "a=b"])
    }

    @Test func txtDecodingIsBoundedForHugeRecords() {
        let entries = (0..<10_000).map { Array("k\($0)=\(String(repeating: "v", count: 200))".utf8) }
        let txt = AvahiTXT.decode(entries)
        #expect(txt.count == AvahiTXT.maxDecodedEntries)
        #expect(txt["k0"]?.count == 200)
    }

    private func found(
        interface: DBusValue = .int32(2), address: String = "192.0.2.7", aprotocol: Int32 = 0,
        txt: DBusValue = .array(element: .array(of: .byte), [.bytes(Array("pn=x".utf8))])
    ) -> [DBusValue] {
        [
            interface, .int32(0), .string("peer"), .string("_peercollab._tcp"), .string("local"),
            .string("h.local"), .int32(aprotocol), .string(address), .uint16(4242), txt, .uint32(0),
        ]
    }

    @Test func resolutionParsesAvahiFound() throws {
        let resolution = try #require(AvahiResolution(arguments: found()))
        #expect(resolution.address == "192.0.2.7")
        #expect(resolution.port == 4242)
        #expect(resolution.txt == ["pn": "x"])
        let linkLocal = try #require(AvahiResolution(arguments: found(address: "fe80::1", aprotocol: 1)))
        #expect(linkLocal.dialableAddress(interfaceName: "eth0") == "fe80::1%eth0")
        let global = try #require(AvahiResolution(arguments: found(address: "2001:db8::1", aprotocol: 1)))
        #expect(global.dialableAddress(interfaceName: "eth0") == "2001:db8::1")
    }

    @Test func resolutionRejectsMalformedFound() {
        #expect(AvahiResolution(arguments: []) == nil)
        #expect(AvahiResolution(arguments: Array(found().dropLast())) == nil)
        #expect(AvahiResolution(arguments: found(interface: .string("eth0"))) == nil)
        #expect(AvahiResolution(arguments: found(interface: .int32(-1))) == nil)
        #expect(AvahiResolution(arguments: found(address: "192.0.2.999")) == nil)
        #expect(AvahiResolution(arguments: found(address: "evil.example; rm -rf")) == nil)
        #expect(AvahiResolution(arguments: found(address: "fe80::1%eth0", aprotocol: 1)) == nil)
        #expect(AvahiResolution(arguments: found(address: "192.0.2.7", aprotocol: 1)) == nil)
        #expect(AvahiResolution(arguments: found(txt: .strings(["pn=x"]))) == nil)
    }

    @Test func browseItemRejectsMalformedSignals() {
        let good: [DBusValue] = [
            .int32(2), .int32(1), .string("peer.with.dots ü"), .string("_peercollab._tcp"), .string("local"),
            .uint32(4),
        ]
        #expect(AvahiBrowseItem(arguments: good)?.name == "peer.with.dots ü")
        var badProtocol = good
        badProtocol[1] = .int32(7)
        #expect(AvahiBrowseItem(arguments: badProtocol) == nil)
        var longName = good
        longName[2] = .string(String(repeating: "n", count: 64))
        #expect(AvahiBrowseItem(arguments: longName) == nil)
        #expect(AvahiBrowseItem(arguments: Array(good.prefix(5))) == nil)
        #expect(AvahiBrowseItem(arguments: good.map { _ in .string("x") }) == nil)
    }

    @Test func mergingPutsIPv4FirstAndTakesTheNewestTXT() throws {
        var instance = AvahiInstance(name: "peer")
        let v4 = try #require(AvahiResolution(arguments: found()))
        var v6 = try #require(AvahiResolution(arguments: found(address: "fe80::2", aprotocol: 1)))
        v6.txt = ["pn": "newer"]
        instance.sightings[AvahiSightingKey(name: "peer", interface: 2, proto: 1)] = AvahiSighting(
            type: "_peercollab._tcp", domain: "local", interfaceName: "eth0", resolution: v6, resolvedSerial: 2)
        instance.sightings[AvahiSightingKey(name: "peer", interface: 2, proto: 0)] = AvahiSighting(
            type: "_peercollab._tcp", domain: "local", interfaceName: "eth0", resolution: v4, resolvedSerial: 1)
        let service = try #require(instance.merged())
        #expect(service.addresses == ["192.0.2.7", "fe80::2%eth0"])
        #expect(service.txt == ["pn": "newer"])
        #expect(service.interfaceName == "eth0")
    }

    @Test func announcementsThatDNSSDCannotCarryAreRefused() {
        let long = ServiceAnnouncement(instanceName: String(repeating: "ü", count: 32), port: 1, txt: [:])
        #expect(throws: AvahiError.self) { try AvahiBackend.validate(long) }
        #expect(throws: AvahiError.self) {
            try AvahiBackend.validate(ServiceAnnouncement(instanceName: "", port: 1, txt: [:]))
        }
        #expect(throws: AvahiError.self) {
            try AvahiBackend.validate(ServiceAnnouncement(instanceName: "a\nb", port: 1, txt: [:]))
        }
        #expect(throws: AvahiError.self) {
            try AvahiBackend.validate(ServiceAnnouncement(instanceName: "a", port: 0, txt: [:]))
        }
        let many = Dictionary(uniqueKeysWithValues: (0..<60).map { ("k\($0)", String(repeating: "v", count: 200)) })
        #expect(throws: AvahiError.self) {
            try AvahiBackend.validate(ServiceAnnouncement(instanceName: "a", port: 1, txt: many))
        }
        #expect((try? AvahiBackend.validate(ServiceAnnouncement(instanceName: "a.b ü", port: 1, txt: ["pn": "x"]))) != nil)
    }
}
