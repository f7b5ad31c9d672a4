import Foundation
import TestSupport
import Testing

@testable import Collaboration

/// python3 with the `vobject` package: vCard software nobody here wrote.
enum VObject {
    /// Whether `python3 -c "import vobject"` succeeds; CI installs vobject, so there it is true.
    static let isAvailable: Bool = (try? run(["-c", "import vobject"]).status) == 0

    /// Reads a card with `vobject.readOne` and prints what it understood as JSON, or builds a
    /// card with vobject from JSON and prints `serialize()`.
    static let script = #"""
        import base64, json, sys
        import vobject

        def read(path):
            with open(path, newline="") as f:
                text = f.read()
            card = vobject.readOne(text)
            key = card.key.value
            header, _, data = key.partition(",")
            der = base64.b64decode(data, validate=True)
            def values(name):
                return [line.value for line in card.contents.get(name, [])]
            print(json.dumps({
                "version": card.version.value,
                "fn": card.fn.value,
                "email": values("email"),
                "keyHeader": header,
                "keyBase64": base64.b64encode(der).decode("ascii"),
                "keyParams": card.key.params,
                "peerName": values("x-peercollab-peername"),
                "endpoints": values("x-peercollab-endpoint"),
                "uid": card.uid.value,
                "n": str(card.n.value),
            }))

        def write(path):
            with open(path) as f:
                spec = json.load(f)
            card = vobject.vCard()
            card.add("version").value = "4.0"
            card.add("fn").value = spec["fn"]
            card.add("n").value = vobject.vcard.Name(family=spec["fn"])
            card.add("email").value = spec["email"]
            key = card.add("key")
            key.value = "data:application/pkix-cert;base64," + spec["keyBase64"]
            key.params["MEDIATYPE"] = ["application/pkix-cert"]
            card.add("x-peercollab-peername").value = spec["peerName"]
            for endpoint in spec["endpoints"]:
                card.add("x-peercollab-endpoint").value = endpoint
            card.add("tel").value = "+1 555 0100"
            sys.stdout.write(card.serialize())

        {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
        """#

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs python3 with the arguments, killing it if it has not finished within 60 s.
    static func run(_ arguments: [String]) throws -> Output {
        let run = try ProcessRunner.run("/usr/bin/env", ["python3"] + arguments, timeout: .seconds(60))
        return Output(status: run.status, stdout: run.standardOutput, stderr: run.standardError)
    }

    /// Runs the script in `mode` on a file holding `contents`, in a fresh temporary folder.
    static func runScript(_ mode: String, on contents: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contactcard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let scriptFile = folder.appendingPathComponent("vobject_card.py")
        let input = folder.appendingPathComponent("input")
        try Data(script.utf8).write(to: scriptFile)
        try Data(contents.utf8).write(to: input)
        let output = try run([scriptFile.path, mode, input.path])
        guard output.status == 0 else {
            throw InteropFailure(description: "python3 vobject \(mode) exited with \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    struct InteropFailure: Error, CustomStringConvertible {
        var description: String
    }
}

@Suite(
    "ContactCard: interoperating with python-vobject",
    .enabled(if: VObject.isAvailable, "python3 with the vobject package is not importable here (pip install vobject); CI installs it")
)
struct ContactCardInteropTests {
    /// A card that exercises escaping, non-ASCII and folding in every field vobject reads.
    static let card = ContactCard(
        displayName: "Zoë Ölund-Nakamura, Jr.; \\ 日本語の名前 😀 " + String(repeating: "é", count: 40),
        email: "zoe.olund@example.org",
        peerName: "pc-7f3a9c2e1b",
        certificateDER: ContactCardFixture.certificate,
        endpoints: [
            ContactEndpoint(host: "192.0.2.1", port: 4_610),
            ContactEndpoint(host: "2001:db8::1", port: 4_611),
            ContactEndpoint(host: "host-a.example.org", port: 80),
        ]
    )

    struct VObjectReading: Decodable {
        var version: String
        var fn: String
        var email: [String]
        var keyHeader: String
        var keyBase64: String
        var keyParams: [String: [String]]
        var peerName: [String]
        var endpoints: [String]
        var uid: String
        var n: String
    }

    @Test("vobject reads our card: FN, EMAIL, the certificate's bytes, the peer name and endpoints")
    func vobjectReadsOurCard() throws {
        let card = Self.card
        try card.validate()
        let text = card.encode()
        #expect(text.contains("\r\n "), "the card should be folded, to test vobject's unfolding")
        let json = try VObject.runScript("read", on: text)
        let reading = try JSONDecoder().decode(VObjectReading.self, from: Data(json.utf8))
        #expect(reading.version == "4.0")
        #expect(reading.fn == card.displayName)
        #expect(reading.email == [card.email!])
        #expect(reading.keyHeader == "data:application/pkix-cert;base64")
        #expect(reading.keyParams == ["MEDIATYPE": ["application/pkix-cert"]])
        #expect(Array(Data(base64Encoded: reading.keyBase64) ?? Data()) == card.certificateDER)
        #expect(reading.peerName == [card.peerName])
        #expect(reading.endpoints == card.endpoints.map(\.description))
        #expect(reading.uid == "urn:peercollab:\(card.peerName)")
    }

    @Test("we read a card vobject wrote, folded and escaped its way")
    func weReadVObjectsCard() throws {
        let spec: [String: Any] = [
            "fn": Self.card.displayName,
            "email": Self.card.email!,
            "keyBase64": ContactCardFixture.certificateBase64,
            "peerName": Self.card.peerName,
            "endpoints": Self.card.endpoints.map(\.description),
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let text = try VObject.runScript("write", on: json)
        // vobject escapes the data URI's ';' and ',' and folds at 75 octets: both must be read.
        #expect(text.contains("pkix-cert\\;base64\\,"), "vobject wrote: \(text)")
        #expect(text.contains("\r\n "), "vobject should have folded the KEY line")
        let card = try ContactCard(parsing: text)
        #expect(card == Self.card)
    }
}
