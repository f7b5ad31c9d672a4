import ArgumentParser
import DBus
import PeerCollabAPI

/// Why a verb failed: a D-Bus error name, words for people, the exit status, and for a name
/// that matched nobody or several people the candidates. Every failure goes through here, so
/// text and `--json` say the same thing with the same exit status.
struct Failure: Error {
    let name: String
    let message: String
    let status: Int32
    var candidates: [Person] = []

    /// The names peercollabctl gives failures it finds itself (the daemon's come as they are).
    enum Name {
        /// Nobody (or no object) matches what was typed.
        static let notFound = PeerCollabErrorName.notFound.busName
        /// A value the daemon would refuse, caught before calling it.
        static let invalidArgument = PeerCollabErrorName.invalidArgument.busName
        /// A request the daemon refused for the state it is in (not a terminal, no endpoint).
        static let failed = PeerCollabErrorName.failed.busName
        /// Several people match what was typed.
        static let ambiguous = "org.peercollab.peercollabctl.Error.Ambiguous"
        /// The command line itself is wrong (exit 64).
        static let usage = "org.peercollab.peercollabctl.Error.Usage"
        /// A file could not be read or written.
        static let file = "org.peercollab.peercollabctl.Error.File"
    }

    static func refused(_ name: String, _ message: String) -> Failure { Failure(name: name, message: message, status: ExitStatus.refused) }
    static func unavailable(_ name: String, _ message: String) -> Failure { Failure(name: name, message: message, status: ExitStatus.unavailable) }
    static func file(_ message: String) -> Failure { Failure(name: Name.file, message: message, status: ExitStatus.refused) }

    /// Prints the failure on stderr: `peercollabctl: MESSAGE`, or with `--json` one object
    /// `{"error": NAME, "message": TEXT}` (and `"candidates"` when there are some).
    func report() {
        var standardError = StandardError()
        if OutputMode.json {
            var members = [("error", JSONText.quote(name)), ("message", JSONText.quote(message))]
            if !candidates.isEmpty { members.append(("candidates", "[" + candidates.map(\.json).joined(separator: ",") + "]")) }
            print(JSONText.encoded(members), to: &standardError)
        } else {
            print("peercollabctl: \(message)", to: &standardError)
        }
    }
}

/// Whether this run prints JSON: decided once from the command line, before parsing, so
/// that usage errors are JSON too.
enum OutputMode {
    static let json = detect(CommandLine.arguments)

    /// `--json` anywhere before `--` or `--exec` (whose words belong to the command).
    static func detect(_ arguments: [String]) -> Bool {
        for argument in arguments.dropFirst() {
            if argument == "--" || argument == "--exec" { return false }
            if argument == "--json" { return true }
        }
        return false
    }
}
