import Testing

@testable import Discovery

@Suite struct DNSMessageTests {
    static let instance = DNSName(["Alice (laptop)", "_peercollab", "_tcp", "local"])
    static let host = DNSName(["peercollab-alice", "local"])

    static func sampleResponse() -> DNSMessage {
        DNSMessage(
            flags: DNSMessage.responseFlags,
            answers: [DNSResourceRecord(name: MDNSResponder.serviceTypeName, type: .ptr, ttl: 4500, data: .ptr(instance))],
            additionals: [
                DNSResourceRecord(name: instance, type: .srv, cacheFlush: true, ttl: 120, data: .srv(priority: 0, weight: 0, port: 4242, target: host)),
                DNSResourceRecord(name: instance, type: .txt, cacheFlush: true, ttl: 4500, data: .txt([Array("v=1".utf8), Array("pn=Alice".utf8)])),
                DNSResourceRecord(name: host, type: .a, cacheFlush: true, ttl: 120, data: .a([192, 0, 2, 1])),
                DNSResourceRecord(name: host, type: .aaaa, cacheFlush: true, ttl: 120, data: .aaaa([0x20, 1, 0xd, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])),
                DNSResourceRecord(name: instance, type: .nsec, cacheFlush: true, ttl: 120, data: .nsec(next: instance, types: [.txt, .srv, DNSRecordType(rawValue: 1234)])),
                DNSResourceRecord(name: host, type: DNSRecordType(rawValue: 99), ttl: 5, data: .opaque([1, 2, 3])),
            ])
    }

    @Test func roundTripKeepsEveryRecordAndCompresses() throws {
        let message = Self.sampleResponse()
        let bytes = try message.encoded()
        #expect(try DNSMessage(decoding: bytes) == message)
        var uncompressed = DNSMessageWriter(compress: false)
        try uncompressed.writeMessage(message)
        #expect(bytes.count < uncompressed.bytes.count - 100, "names repeat, so compression must save bytes")
        #expect(try DNSMessage(decoding: uncompressed.bytes) == message)
    }

    @Test func questionsKeepTheUnicastBitAndRecordsTheCacheFlushBit() throws {
        let query = DNSMessage(
            questions: [DNSQuestion(name: Self.instance, type: .any, unicastResponse: true)],
            authorities: [DNSResourceRecord(name: Self.instance, type: .srv, cacheFlush: true, ttl: 120, data: .srv(priority: 0, weight: 0, port: 1, target: Self.host))])
        let bytes = try query.encoded()
        #expect(bytes[12 + Self.instance.wireLength + 2] & 0x80 != 0)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded.questions[0].unicastResponse)
        #expect(decoded.questions[0].recordClass == DNSClass.internet)
        #expect(decoded.authorities[0].cacheFlush)
    }

    @Test func namesCompareWithoutCase() {
        #expect(DNSName(dotted: "Host.LOCAL") == DNSName(dotted: "host.local"))
        #expect(Set([DNSName(dotted: "A.local"), DNSName(dotted: "a.local")]).count == 1)
        #expect(DNSName(["a.b", "local"]).description == "a\\.b.local.")
    }

    @Test func namesThatDifferOnlyInCaseHashAlikeAndOthersDiffer() {
        let mixed = DNSName(["My Peer Name Is Long", "_PeerCollab", "_TCP", "Local"])
        let lower = DNSName(["my peer name is long", "_peercollab", "_tcp", "local"])
        #expect(mixed == lower)
        #expect(mixed.hashValue == lower.hashValue)
        #expect(Set([mixed, lower]).count == 1)
        #expect(mixed != DNSName(["my peer name is lonG", "_peercollab", "_udp", "local"]))
        #expect(mixed != DNSName(["my peer name is lon", "_peercollab", "_tcp", "local"]))
        #expect(DNSName(labels: [[0xC3, 0x89]]) != DNSName(labels: [[0xC3, 0xA9]]), "only ASCII folds")
        // Many instances under one type land in distinct buckets.
        let names = (0..<500).map { MDNSResponder.serviceTypeName.prepending("peer \($0)") }
        #expect(Set(names).count == 500)
        #expect(Set(names.map(\.hashValue)).count > 490)
        #expect(lower.isChild(of: MDNSResponder.serviceTypeName))
        #expect(!MDNSResponder.serviceTypeName.isChild(of: MDNSResponder.serviceTypeName))
        #expect(!DNSName(["x", "_peercollab", "_udp", "local"]).isChild(of: MDNSResponder.serviceTypeName))
    }

    @Test func txtDictionaryFollowsRFC6763() {
        let record = DNSResourceRecord(name: Self.instance, type: .txt, ttl: 1, data: .txt([Array("pn=Bob".utf8), Array("flag".utf8), Array("PN=other".utf8), [], Array("=x".utf8)]))
        #expect(record.txtDictionary == ["pn": "Bob", "flag": ""])
        #expect(DNSResourceRecord.txtStrings([:]) == [[]])
    }

    // MARK: - Hostile packets

    static func header(questions: UInt16 = 0, answers: UInt16 = 0) -> [UInt8] {
        [0, 0, 0x84, 0, UInt8(questions >> 8), UInt8(questions & 0xFF), UInt8(answers >> 8), UInt8(answers & 0xFF), 0, 0, 0, 0]
    }

    func expectError(_ code: DNSMessageError.Code, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: DNSMessageError.self, sourceLocation: sourceLocation) { _ = try DNSMessage(decoding: bytes) }
        do {
            _ = try DNSMessage(decoding: bytes)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func pointerToItselfIsRefused() {
        // Question name at 12 is a pointer to 12.
        expectError(.forwardPointer, Self.header(questions: 1) + [0xC0, 12, 0, 1, 0, 1])
    }

    @Test func pointerLoopIsRefused() {
        // A label at 12 followed by a pointer back to 12: a loop, refused as not going below.
        expectError(.forwardPointer, Self.header(questions: 1) + [1, 0x61, 0xC0, 12, 0, 1, 0, 1])
    }

    @Test func forwardPointerIsRefused() {
        expectError(.forwardPointer, Self.header(questions: 1) + [0xC0, 18, 0, 1, 0, 1, 1, 0x61, 0])
    }

    @Test func pointerPastTheEndIsRefused() {
        expectError(.forwardPointer, Self.header(questions: 1) + [0xC0, 0xFF, 0, 1, 0, 1])
    }

    @Test func longPointerChainsAreRefused() {
        // Record 1 (opaque) carries a root name followed by 200 pointers, each pointing at
        // the one before; record 2's name points at the last: 201 hops without a label.
        var rdata: [UInt8] = []
        let dataStart = 12 + 1 + 10
        rdata.append(0)
        var previous = dataStart
        for _ in 0..<200 {
            let here = dataStart + rdata.count
            rdata += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            previous = here
        }
        var bytes = Self.header(answers: 2) + [0, 0, 99, 0, 1, 0, 0, 0, 10, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF), 0, 99, 0, 1, 0, 0, 0, 10, 0, 0]
        expectError(.tooManyPointers, bytes)
    }

    @Test func overLongNameIsRefused() {
        var bytes = Self.header(questions: 1)
        for _ in 0..<5 { bytes += [63] + [UInt8](repeating: 0x61, count: 63) }
        bytes += [0, 0, 1, 0, 1]
        expectError(.nameTooLong, bytes)
    }

    @Test func reservedLabelTypeIsRefused() {
        expectError(.badLabelType, Self.header(questions: 1) + [0x40, 0, 0, 1, 0, 1])
        expectError(.badLabelType, Self.header(questions: 1) + [0x80, 0, 0, 1, 0, 1])
    }

    @Test func hugeCountsAreRefusedBeforeAnyWork() {
        expectError(.countsExceedMessage, Self.header(questions: 0xFFFF, answers: 0xFFFF) + [0, 0, 1, 0, 1])
    }

    @Test func lengthsPastTheEndAreRefused() {
        // A label claiming 50 bytes with 2 left.
        expectError(.truncated, Self.header(questions: 1) + [50, 0x61, 0x62] + [0, 0, 0, 0, 0])
        // A record whose rdlength runs past the end.
        expectError(.truncated, Self.header(answers: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 10, 0x01, 0x00, 1, 2, 3, 4])
    }

    @Test func wrongAddressLengthsAndRaggedTXTAreRefused() {
        expectError(.rdataLengthMismatch, Self.header(answers: 1) + [0, 0, 1, 0, 1, 0, 0, 0, 10, 0, 3, 1, 2, 3])
        expectError(.rdataLengthMismatch, Self.header(answers: 1) + [0, 0, 16, 0, 1, 0, 0, 0, 10, 0, 3, 5, 0x61, 0x62])
        // An SRV whose target name runs outside its rdata.
        expectError(.truncated, Self.header(answers: 1) + [0, 0, 33, 0, 1, 0, 0, 0, 10, 0, 7, 0, 0, 0, 0, 0, 1, 3, 0x61, 0x62, 0x63, 0])
    }

    @Test func everyTruncationOfAValidMessageFailsCleanly() throws {
        let bytes = try Self.sampleResponse().encoded()
        for length in 0..<bytes.count {
            #expect(throws: DNSMessageError.self) { _ = try DNSMessage(decoding: bytes[..<length]) }
        }
    }

    @Test func oversizeMessageIsRefused() {
        expectError(.messageTooLong, Self.header() + [UInt8](repeating: 0, count: 9000))
    }

    @Test func randomBytesNeverCrash() {
        var random = MDNSRandom(seed: 42)
        let valid = (try? Self.sampleResponse().encoded()) ?? []
        for round in 0..<20_000 {
            var bytes = valid
            // Flip a few bytes of a valid message, or use pure noise.
            if round % 2 == 0 {
                for _ in 0..<(1 + Int(random.next() % 4)) { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            if let message = try? DNSMessage(decoding: bytes), let again = try? message.encoded() {
                // A second round trip is stable (the first may normalise, e.g. NSEC windows).
                let normalised = try? DNSMessage(decoding: again)
                #expect(normalised != nil)
                if let normalised {
                    if normalised != message { #expect(message.allRecords.contains { $0.type == .nsec }, "\(message) vs \(normalised)") }
                    #expect((try? normalised.encoded()) == again)
                }
            }
        }
    }

    @Test func labelsOver63BytesCannotBeEncoded() {
        let message = DNSMessage(questions: [DNSQuestion(name: DNSName([String(repeating: "x", count: 64), "local"]), type: .a)])
        #expect(throws: DNSMessageError.self) { _ = try message.encoded() }
    }
}
