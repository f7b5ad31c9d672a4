import Testing

@testable import peercollabd

/// The places for connections still handshaking: 64 in all, 8 per source address.
@Suite struct HandshakeAdmissionTests {
    @Test func oneAddressGetsEightPlacesAndOthersKeepTheirs() {
        var admission = HandshakeAdmission()
        for _ in 0..<8 { let admitted = admission.admit("192.0.2.66"); #expect(admitted) }
        let ninth = admission.admit("192.0.2.66")
        #expect(!ninth, "a ninth place for one address")
        let admitted = admission.admit("192.0.2.7"); #expect(admitted)
        admission.release("192.0.2.66")
        let again = admission.admit("192.0.2.66")
        #expect(again, "a place given back is free again")
        #expect(admission.total == 9)
    }

    @Test func sixtyFourInAllAndEveryReleaseCounts() {
        var admission = HandshakeAdmission()
        for host in 0..<8 { for _ in 0..<8 { let admitted = admission.admit("198.51.100.\(host)"); #expect(admitted) } }
        #expect(admission.total == 64)
        let sixtyFifth = admission.admit("203.0.113.1")
        #expect(!sixtyFifth, "a 65th place")
        for host in 0..<8 { for _ in 0..<8 { admission.release("198.51.100.\(host)") } }
        #expect(admission.total == 0 && admission.addresses == 0)
        // Releasing what was never taken changes nothing.
        admission.release("203.0.113.1")
        #expect(admission.total == 0)
    }
}
