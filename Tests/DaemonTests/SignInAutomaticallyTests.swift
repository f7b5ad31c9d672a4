import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// "Sign in automatically": a daemon that restarts (SIGTERM, or kill -9 as a crash does)
/// comes back signed in to the same scopes with the same presence, and its peer sees it
/// again; with the setting off it comes back signed out and online.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct SignInAutomaticallyTests {
    @Test func aRestartedDaemonComesBackSignedInWithItsPresenceUnlessTurnedOff() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: nil)
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me")
        let nameA = try await a.peerName
        try await lab.withLogs {
            #expect(try await a.manager("SignInAutomatically").boolValue == true, "on by default")
            #expect(try await a.manager("SignedIn").stringArrayValue == [], "a fresh account is signed out")
            try await a.managerCall("SignIn", [.string("all")])
            try await a.managerCall("SetPresence", [.string("busy"), .string("Drawing with Ada")])

            /// B sees A (again) with the presence A set: A really signed in, not only says so.
            func bSeesA(_ what: String) async throws {
                _ = try await b.waitForPeers(what, timeout: .seconds(30)) { peers in
                    peers.values.contains {
                        $0["PeerName"]?.stringValue == nameA && $0["PresenceStatus"]?.stringValue == "busy"
                            && $0["PresenceMessage"]?.stringValue == "Drawing with Ada"
                    }
                }
            }
            try await bSeesA("B sees A busy")

            for kill in [false, true] {
                try await a.restart(kill: kill)
                let how = kill ? "after kill -9" : "after SIGTERM"
                #expect(try await a.manager("SignedIn").stringArrayValue == ["internet", "near-me"], "\(how)")
                #expect(try await a.manager("PresenceStatus").stringValue == "busy", "\(how)")
                #expect(try await a.manager("PresenceMessage").stringValue == "Drawing with Ada", "\(how)")
                try await bSeesA("B sees A back, busy, \(how)")
            }
            let doctor = try await a.ctl(["doctor", "--json"])
            #expect(!doctor.standardOutput.contains("sign-in at start"), "no restore problem: \(doctor.standardOutput)")

            // Signed out of one scope: only the other comes back.
            try await a.managerCall("SignOut", [.string("internet")])
            try await a.restart()
            #expect(try await a.manager("SignedIn").stringArrayValue == ["near-me"])

            // Off (through peercollabctl): the next start is signed out and online.
            let off = try await a.ctl(["auto-signin", "off"])
            #expect(off.status == 0, "\(off.standardError)")
            #expect(try await a.manager("SignInAutomatically").boolValue == false)
            let shown = try await a.ctl(["auto-signin"])
            #expect(shown.standardOutput == "off\n")
            try await a.restart(kill: true)
            #expect(try await a.manager("SignInAutomatically").boolValue == false, "the setting itself is kept")
            #expect(try await a.manager("SignedIn").stringArrayValue == [])
            #expect(try await a.manager("PresenceStatus").stringValue == "online")
            _ = try await b.waitForPeers("B no longer sees A", timeout: .seconds(30)) { peers in
                !peers.values.contains { $0["PeerName"]?.stringValue == nameA }
            }
        }
    }

    /// Set with a signal before the reply; the same value again signals nothing; a wrong
    /// type is refused and changes nothing.
    @Test func theSettingIsABooleanWithPropertiesChangedBeforeTheReply() async throws {
        let daemon = try await LocalDaemon()
        let recorder = try await BusRecorder.start(daemon.client)
        let manager = PeerCollabBus.Interface.manager
        await #expect(throws: (any Error).self) {
            _ = try await recorder.set(PeerCollabBus.rootPath, manager, "SignInAutomatically", .string("no"))
        }
        let reply = try await recorder.set(PeerCollabBus.rootPath, manager, "SignInAutomatically", .boolean(false))
        let signal = try await recorder.next("PropertiesChanged of SignInAutomatically")
        #expect(signal.changedProperties(of: manager)?["SignInAutomatically"]?.boolValue == false)
        #expect(signal.serial < reply.serial)
        _ = try await recorder.set(PeerCollabBus.rootPath, manager, "SignInAutomatically", .boolean(false))
        _ = try await recorder.set(PeerCollabBus.rootPath, manager, "SignInAutomatically", .boolean(true))
        let next = try await recorder.next("the next PropertiesChanged")
        #expect(next.changedProperties(of: manager)?["SignInAutomatically"]?.boolValue == true, "the no-op signalled nothing")
    }
}
