import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Application channels between two real daemons in network namespaces: both sides of an
/// accepted invitation open a name and get a stream, in order, both ways.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct ChannelTests {
    @Test func smallMessagesGoBothWaysAndTheChannelIsListedOnBothSides() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            // A opens first and waits; its write stays in its socket until B opens.
            let onA = try await invitation.open(invitation.a, invitation.onA, "chat")
            try await AcceptedInvitation.waitForChannels("A lists chat waiting", invitation.a, invitation.onA) { $0["chat"]?.state == "waiting" }
            try await onA.writeAll(Array("hello from A".utf8))
            let onB = try await invitation.open(invitation.b, invitation.onB, "chat")
            #expect(try await onB.read(count: 12) == Array("hello from A".utf8))
            try await onB.writeAll(Array("hi A, B here".utf8))
            #expect(try await onA.read(count: 12) == Array("hi A, B here".utf8))
            for round in 0..<20 {
                let message = Array("round \(round)".utf8)
                try await onA.writeAll(message)
                #expect(try await onB.read(count: message.count) == message)
                try await onB.writeAll(message.reversed())
                #expect(try await onA.read(count: message.count) == message.reversed())
            }
            try await AcceptedInvitation.waitForChannels("A counts the bytes", invitation.a, invitation.onA) {
                $0["chat"]?.state == "open" && $0["chat"]?.sent ?? 0 >= 12 && $0["chat"]?.received ?? 0 >= 12
            }
            try await AcceptedInvitation.waitForChannels("B lists chat open", invitation.b, invitation.onB) { $0["chat"]?.state == "open" }
        }
    }

    @Test func aBulkTransferArrivesIntactAndTheAnswerComesBack() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let (onA, onB) = try await invitation.openBoth("bulk")
            let size = 100 * 1024 * 1024
            let payload = patternBytes(size, seed: 7)
            // Byte counters reach the bus at most about once a second, not per chunk.
            let changes = try await invitation.a.client.subscribe(to: DBusMatchRule(
                path: invitation.onA, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
            let counted = Progress()
            let counting = Task {
                for await message in changes where message.arguments().dropFirst().first?.vardictValue?["Channels"] != nil {
                    counted.bytes.add(1, ordering: .relaxed)
                }
            }
            defer { counting.cancel() }
            let started = ContinuousClock.now
            async let sent: Void = onA.writeAll(payload, timeout: .seconds(60))
            let received = try await onB.read(count: size, timeout: .seconds(60))
            try await sent
            let seconds = Int(started.duration(to: .now).components.seconds)
            #expect(counted.value <= seconds + 4, "\(counted.value) Channels signals in about \(seconds + 1) s")
            #expect(received.count == size)
            #expect(received == payload, "the bytes differ")
            let answer = Array("got \(received.count) bytes, checksum \(received.reduce(0) { $0 &+ UInt64($1) })".utf8)
            try await onB.writeAll(answer)
            #expect(try await onA.read(count: answer.count) == answer)
        }
    }

    @Test func halfCloseEndsOneDirectionAndTheOtherKeepsGoing() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let closedOnA = try await invitation.a.client.subscribe(to: DBusMatchRule(
                path: invitation.onA, interface: InvitationPair.invitation, member: "ChannelClosed"))
            let closedOnB = try await invitation.b.client.subscribe(to: DBusMatchRule(
                path: invitation.onB, interface: InvitationPair.invitation, member: "ChannelClosed"))
            // A finishes writing first; B still answers after reading A's end-of-stream.
            let (onA, onB) = try await invitation.openBoth("a-first")
            try await onA.writeAll(Array("request".utf8))
            onA.finishWriting()
            #expect(try await onB.readToEnd() == Array("request".utf8))
            try await AcceptedInvitation.waitForChannels("B sees A's end", invitation.b, invitation.onB) { $0["a-first"]?.state == "read-closed" }
            try await onB.writeAll(Array("response after your end".utf8))
            onB.finishWriting()
            #expect(try await onA.readToEnd() == Array("response after your end".utf8))
            // Both finished: the channel ends cleanly on both sides and can be opened again.
            try await AcceptedInvitation.waitForChannels("A's channel ends", invitation.a, invitation.onA) { $0["a-first"] == nil }
            try await AcceptedInvitation.waitForChannels("B's channel ends", invitation.b, invitation.onB) { $0["a-first"] == nil }
            // A clean end on both sides: B's end-of-file, read after its output was shut, is
            // B finishing, not a broken socket.
            for (name, closed) in [("A", closedOnA), ("B", closedOnB)] {
                let reason = try await firstSignal(closed) { message -> String? in
                    let arguments = message.arguments()
                    return arguments.first?.stringValue == "a-first" ? arguments.dropFirst().first?.stringValue : nil
                }
                #expect(reason == "closed", "\(name) ended the channel as \(reason)")
            }

            // The other direction: B finishes first.
            let (againA, againB) = try await invitation.openBoth("a-first")
            try await againB.writeAll(Array("B talks".utf8))
            againB.finishWriting()
            #expect(try await againA.readToEnd() == Array("B talks".utf8))
            try await againA.writeAll(Array("A answers".utf8))
            againA.finishWriting()
            #expect(try await againB.readToEnd() == Array("A answers".utf8))
        }
    }

    @Test func severalChannelsOnOneInvitationStayApart() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            var pairs: [(AppChannel, AppChannel)] = []
            for index in 0..<6 { pairs.append(try await invitation.openBoth("stream-\(index)")) }
            let size = 2 * 1024 * 1024
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, (onA, onB)) in pairs.enumerated() {
                    let payload = patternBytes(size, seed: UInt64(index + 100))
                    group.addTask { try await onA.writeAll(payload, timeout: .seconds(60)) }
                    group.addTask {
                        let received = try await onB.read(count: size, timeout: .seconds(60))
                        #expect(received == payload, "stream-\(index) differs")
                    }
                }
                try await group.waitForAll()
            }
            let listed = try await AcceptedInvitation.channels(invitation.b, invitation.onB)
            #expect(Set(listed.keys) == Set((0..<6).map { "stream-\($0)" }))
        }
    }

    @Test func openingIsRefusedWithTypedErrors() async throws {
        let pair = try await InvitationPair()
        try await pair.lab.withLogs {
            let outgoing = try await pair.invite()
            let incoming = try await pair.incomingOnB()
            // Not accepted yet: InvalidState on both sides.
            await pair.expectError("InvalidState") { _ = try await pair.a.call(outgoing, InvitationPair.invitation, "OpenChannel", [.string("x")]) }
            await pair.expectError("InvalidState") { _ = try await pair.b.call(incoming, InvitationPair.invitation, "OpenChannel", [.string("x")]) }
            try await pair.call(pair.b, incoming, "Accept")
            try await pair.waitForState(pair.a, outgoing, "accepted")
            for bad in ["", String(repeating: "n", count: 129), "tab\there"] {
                await pair.expectError("InvalidArgument") { _ = try await pair.a.call(outgoing, InvitationPair.invitation, "OpenChannel", [.string(bad)]) }
            }
            let first = try await pair.a.call(outgoing, InvitationPair.invitation, "OpenChannel", [.string(String(repeating: "é", count: 64))])
            _ = try AppChannel(first.first)
            await pair.expectError("AlreadyExists") {
                _ = try await pair.a.call(outgoing, InvitationPair.invitation, "OpenChannel", [.string(String(repeating: "é", count: 64))])
            }
            // At most 16 per invitation (the first one counts).
            var held: [AppChannel] = []
            for index in 1..<16 {
                held.append(try AppChannel(try await pair.a.call(outgoing, InvitationPair.invitation, "OpenChannel", [.string("c\(index)")]).first))
            }
            await pair.expectError("RateLimited") { _ = try await pair.a.call(outgoing, InvitationPair.invitation, "OpenChannel", [.string("c16")]) }
        }
    }

    /// Killing B's daemon mid-transfer ends A's stream: A's application reads end-of-file
    /// or ECONNRESET (docs/dbus-api.md), its writes fail, and A signals ChannelClosed.
    @Test func aDaemonKilledMidTransferEndsTheOtherSidesStream() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let closed = try await invitation.a.client.subscribe(to: DBusMatchRule(
                path: invitation.onA, interface: InvitationPair.invitation, member: "ChannelClosed"))
            let (onA, onB) = try await invitation.openBoth("doomed")
            try await onA.writeAll(patternBytes(64 * 1024, seed: 3))
            _ = try await onB.read(count: 1024)
            try await invitation.b.kill()
            var ended = false
            do {
                let rest = try await onA.readToEnd(timeout: .seconds(30))
                ended = rest.isEmpty
            } catch let failure as POSIXFailure {
                ended = failure.errno == ECONNRESET
            }
            #expect(ended, "A's read neither ended nor failed with ECONNRESET")
            let reason = try await firstSignal(closed) { message -> String? in
                let arguments = message.arguments()
                return arguments.first?.stringValue == "doomed" ? arguments.dropFirst().first?.stringValue : nil
            }
            #expect(reason == "peer-gone")
            #expect(try await AcceptedInvitation.channels(invitation.a, invitation.onA).isEmpty)
        }
    }
}

/// What ends channels besides the applications: a daemon that stops, an invitation withdrawn.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct ChannelEndingTests {
    /// B's daemon stops (SIGTERM, with its goodbye): A's application sees its stream end and
    /// A signals the reason `stopping`.
    @Test func aDaemonThatStopsEndsTheStreamWithReasonStopping() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let closed = try await invitation.a.client.subscribe(to: DBusMatchRule(
                path: invitation.onA, interface: InvitationPair.invitation, member: "ChannelClosed"))
            let (onA, onB) = try await invitation.openBoth("stopping")
            try await onA.writeAll(Array("x".utf8))
            #expect(try await onB.read(count: 1) == Array("x".utf8))
            invitation.b.daemon.signal(SIGTERM)
            _ = try await invitation.b.daemon.waitForExit()
            var ended = false
            do { ended = try await onA.readToEnd().isEmpty } catch let failure as POSIXFailure { ended = failure.errno == ECONNRESET }
            #expect(ended)
            let reason = try await firstSignal(closed) { message -> String? in
                let arguments = message.arguments()
                return arguments.first?.stringValue == "stopping" ? arguments.dropFirst().first?.stringValue : nil
            }
            #expect(reason == "stopping")
            // The invitation is still accepted, but nobody is there: a typed error at once,
            // never a reply that waits for the peer.
            await invitation.pair.expectError("PeerUnreachable") {
                _ = try await invitation.a.call(invitation.onA, InvitationPair.invitation, "OpenChannel", [.string("again")])
            }
        }
    }

    /// A keeps finished invitations 2 s, but not while their channels are open: a long
    /// session must not be cut off by the retention. Past it the channel still carries
    /// bytes both ways and both sides still list it.
    @Test func anAcceptedInvitationOutlivesItsRetentionWhileItsChannelsAreOpen() async throws {
        let invitation = try await AcceptedInvitation(settingsA: #"{"invitationRetentionSeconds": 2}"#)
        try await invitation.pair.lab.withLogs {
            let (onA, onB) = try await invitation.openBoth("long-lived")
            try await onA.writeAll([1])
            #expect(try await onB.read(count: 1) == [1])
            // Twice the retention, and A's invitation timer has fired since.
            try await Task.sleep(for: .seconds(4))
            try await onB.writeAll([2])
            #expect(try await onA.read(count: 1) == [2])
            try await onA.writeAll([3])
            #expect(try await onB.read(count: 1) == [3])
            #expect(try await AcceptedInvitation.channels(invitation.a, invitation.onA).count == 1)
            #expect(try await AcceptedInvitation.channels(invitation.b, invitation.onB).count == 1)
        }
    }
}

/// `peercollabctl channel open` joins stdin and stdout to a channel, like `nc`, and
/// `invitations` lists each invitation's channels.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct ChannelCtlTests {
    @Test func twoShellsTalkThroughAChannelAndInvitationsListIt() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let idA = String(invitation.onA.rawValue.split(separator: "/").last ?? "")
            let idB = String(invitation.onB.rawValue.split(separator: "/").last ?? "")
            let busA = invitation.a.bus.address
            let busB = invitation.b.bus.address
            async let onA = ProcessRunner.run(
                ProcessRunner.ctlPath, ["channel", "open", idA, "shell", "--bus", busA], input: "question from A\n", timeout: .seconds(30))
            async let onB = ProcessRunner.run(
                ProcessRunner.ctlPath, ["channel", "open", idB, "shell", "--bus", busB], input: "answer from B\n", timeout: .seconds(30))
            let (outputA, outputB) = try await (onA, onB)
            #expect(outputA.status == 0, "\(outputA.standardError)")
            #expect(outputB.status == 0, "\(outputB.standardError)")
            #expect(outputA.standardOutput == "answer from B\n")
            #expect(outputB.standardOutput == "question from A\n")

            // A channel held open by an application shows in the listing.
            let held = try await invitation.open(invitation.a, invitation.onA, "board")
            let list = try await ProcessRunner.run(ProcessRunner.ctlPath, ["invitations", "--bus", busA])
            #expect(list.standardOutput.contains("board (waiting)"), "\(list.standardOutput)")
            let show = try await ProcessRunner.run(ProcessRunner.ctlPath, ["invitations", "show", idA, "--bus", busA])
            #expect(show.standardOutput.contains("board waiting, 0 B sent, 0 B received"), "\(show.standardOutput)")
            _ = held
        }
    }
}
