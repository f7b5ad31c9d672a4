import DBus
import Foundation
import Synchronization
import Testing
import PeerCollabAPI
import TestSupport

/// Flow control and fairness of application channels between two real daemons.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct ChannelFlowControlTests {
    /// B's application stops reading: A's writes block after about the window plus the
    /// socket buffers, neither daemon grows by more than the windows plus 2 MiB, presence
    /// still crosses the same link both ways, and once B reads again everything arrives.
    @Test func aReaderThatStopsBlocksTheWriterAndTheLinkStaysResponsive() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let (onA, onB) = try await invitation.openBoth("slow")
            let pidA = invitation.a.daemon.pid
            let pidB = invitation.b.daemon.pid
            let before = (residentBytes(of: pidA), residentBytes(of: pidB))
            let maximum = 64 * 1024 * 1024
            let written = try await onA.writeUntilBlocked(maximum: maximum, seed: 11)
            let socketBuffer = Int((try? String(contentsOfFile: "/proc/sys/net/core/wmem_default", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 212_992
            // Two windows at most (one doubling), the two applications' socket pairs (each
            // direction's buffer counted twice for the kernel's bookkeeping) and one read.
            let bound = 2 * 256 * 1024 + 4 * socketBuffer + 64 * 1024
            #expect(written < maximum, "A's writes never blocked")
            #expect(written <= bound, "A wrote \(written) bytes before blocking; expected at most \(bound)")
            let after = (residentBytes(of: pidA), residentBytes(of: pidB))
            let allowed = 2 * 256 * 1024 + 2 * 1024 * 1024
            #expect(after.0 - before.0 <= allowed, "A grew by \(after.0 - before.0) bytes")
            #expect(after.1 - before.1 <= allowed, "B grew by \(after.1 - before.1) bytes")
            print("flow control: A blocked after \(written) bytes (bound \(bound)); RSS growth A \(after.0 - before.0), B \(after.1 - before.1)")

            // Presence both ways over the same link while the channel is stuck.
            let nameA = try await invitation.a.peerName
            let nameB = try await invitation.b.peerName
            try await invitation.b.managerCall("SetPresence", [.string("busy"), .string("stuck reader")])
            _ = try await invitation.a.waitForPeers("A sees B busy", timeout: .seconds(15)) {
                $0.values.contains { $0["PeerName"]?.stringValue == nameB && $0["PresenceStatus"]?.stringValue == "busy" }
            }
            try await invitation.a.managerCall("SetPresence", [.string("away"), .string("")])
            _ = try await invitation.b.waitForPeers("B sees A away", timeout: .seconds(15)) {
                $0.values.contains { $0["PeerName"]?.stringValue == nameA && $0["PresenceStatus"]?.stringValue == "away" }
            }

            // B reads again: what was written arrives intact, and more goes through.
            let first = try await onB.read(count: written)
            #expect(first == patternBytes(written, seed: 11))
            let more = patternBytes(4 * 1024 * 1024, seed: 12)
            async let sent: Void = onA.writeAll(more, timeout: .seconds(60))
            #expect(try await onB.read(count: more.count, timeout: .seconds(60)) == more)
            try await sent
        }
    }

    /// One channel pushes bulk data while another does 64-byte ping-pong on the same link:
    /// every round trip completes while the bulk still runs, with a bounded amount of bulk
    /// data crossing meanwhile. What keeps it so is the whole chain: the bulk channel's window
    /// (a sender never holds more than its credit), frames written only while the link is
    /// writable, and the scheduler taking channels in turn. With one FIFO queue of frames and
    /// no windows the bulk would be queued whole in front of the ping and this fails; a
    /// scheduler that serves one
    /// channel until it runs dry still passes here, because a 256 KiB window runs dry fast on
    /// this link: `ChannelMultiplexerTests.theSchedulerPutsControlFirstAndTakesChannelsInTurn`
    /// is the test that fails for that one.
    @Test func pingPongStaysQuickWhileABulkChannelRuns() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            let (bulkA, bulkB) = try await invitation.openBoth("bulk")
            let (pingA, pingB) = try await invitation.openBoth("ping")
            let total = 48 * 1024 * 1024
            let progress = Progress()
            let payload = patternBytes(total, seed: 21)
            async let bulkSent: Void = bulkA.writeAll(payload, timeout: .seconds(90))
            async let bulkReceived = bulkB.read(count: total, progress: progress, timeout: .seconds(90))
            // Wait until the bulk runs.
            let deadline = ContinuousClock.now + .seconds(20)
            while progress.value < 1024 * 1024, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            var crossed: [Int] = []
            let echo = Task {
                for _ in 0..<30 {
                    let ping = try await pingB.read(count: 64)
                    try await pingB.writeAll(ping)
                }
            }
            for round in 0..<30 {
                let before = progress.value
                let ping = [UInt8](repeating: UInt8(round), count: 64)
                try await pingA.writeAll(ping)
                #expect(try await pingA.read(count: 64) == ping)
                crossed.append(progress.value - before)
            }
            try await echo.value
            let whenDone = progress.value
            #expect(whenDone < total, "the ping-pong finished only after the bulk transfer")
            #expect((crossed.max() ?? 0) <= 8 * 1024 * 1024, "bulk bytes that crossed during one round trip: \(crossed)")
            try await bulkSent
            #expect(try await bulkReceived == payload)
            print("fairness: bulk bytes per ping round trip \(crossed.min() ?? 0)…\(crossed.max() ?? 0), ping-pong done at \(whenDone) of \(total)")
        }
    }

    /// 1,000 channels opened and closed leave no descriptors, objects or memory behind.
    @Test func aThousandChannelsOpenedAndClosedLeaveNothingBehind() async throws {
        let invitation = try await AcceptedInvitation()
        try await invitation.pair.lab.withLogs {
            // Warm up once, so that the first channel's one-time allocations are not counted.
            do {
                let (onA, onB) = try await invitation.openBoth("warm")
                onA.finishWriting()
                onB.finishWriting()
                _ = try await onA.readToEnd()
                _ = try await onB.readToEnd()
            }
            try await AcceptedInvitation.waitForChannels("warm-up ends", invitation.a, invitation.onA) { $0.isEmpty }
            let pidA = invitation.a.daemon.pid
            let pidB = invitation.b.daemon.pid
            let descriptors = (openDescriptors(of: pidA), openDescriptors(of: pidB))
            let memory = (residentBytes(of: pidA), residentBytes(of: pidB))
            for round in 0..<1000 {
                let (onA, onB) = try await invitation.openBoth("c\(round % 7)")
                try await onA.writeAll([UInt8(round & 0xFF)])
                onA.finishWriting()
                onB.finishWriting()
                let got = try await onB.readToEnd()
                #expect(got == [UInt8(round & 0xFF)], "round \(round): B read \(got)")
                #expect(try await onA.readToEnd() == [])
            }
            try await AcceptedInvitation.waitForChannels("A's channels end", invitation.a, invitation.onA) { $0.isEmpty }
            try await AcceptedInvitation.waitForChannels("B's channels end", invitation.b, invitation.onB) { $0.isEmpty }
            // Descriptors are closed as channels end (bounded wait for the last ones).
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, openDescriptors(of: pidA) > descriptors.0 || openDescriptors(of: pidB) > descriptors.1 {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(openDescriptors(of: pidA) <= descriptors.0)
            #expect(openDescriptors(of: pidB) <= descriptors.1)
            let growth = (residentBytes(of: pidA) - memory.0, residentBytes(of: pidB) - memory.1)
            #expect(growth.0 <= 2 * 1024 * 1024 && growth.1 <= 2 * 1024 * 1024, "RSS grew by \(growth)")
            print("1,000 channels: RSS growth A \(growth.0), B \(growth.1) bytes")
        }
    }
}
