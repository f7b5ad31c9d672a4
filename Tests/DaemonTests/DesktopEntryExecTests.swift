import DBus
import Testing

@testable import peercollabd
import PeerCollabAPI

/// The Exec= rules of the Desktop Entry Specification, and the key-file reading around them,
/// on well-formed, odd and hostile lines.
@Suite struct DesktopEntryExecTests {
    func arguments(_ value: String, _ context: DesktopEntryExec.Context = .init()) throws -> [String] {
        try DesktopEntryExec.arguments(of: value, context: context)
    }

    func entry(_ text: String, at location: String = "/apps/org.example.App.desktop") throws -> DesktopEntry {
        try DesktopEntry(contents: Array(text.utf8), location: location)
    }

    // MARK: Exec

    @Test func spacesSeparateArgumentsAndRunsOfThemCountOnce() throws {
        #expect(try arguments("whiteboard  --join   now") == ["whiteboard", "--join", "now"])
        #expect(try arguments("  padded ") == ["padded"])
    }

    @Test func doubleQuotesKeepSpacesAndTheirFourEscapes() throws {
        #expect(try arguments(#""/opt/My App/bin/app" "a b""#) == ["/opt/My App/bin/app", "a b"])
        #expect(try arguments(#"app "say \"hi\"" "\$HOME" "\`x\`" "back\\slash""#)
            == ["app", #"say "hi""#, "$HOME", "`x`", #"back\slash"#])
        // Before any other character the backslash stays.
        #expect(try arguments(#"app "a\qb""#) == ["app", #"a\qb"#])
        #expect(try arguments(#"app """#) == ["app", ""], "an empty quoted argument is an argument")
        #expect(try arguments(#"app pre"fix suf"fix"#) == ["app", "prefix suffix"], "quotes join a word")
    }

    @Test func reservedCharactersAreLiteralBecauseNoShellRuns() throws {
        #expect(try arguments("app ; rm -rf ~ | tee > /x $(id) `id` &") ==
            ["app", ";", "rm", "-rf", "~", "|", "tee", ">", "/x", "$(id)", "`id`", "&"])
    }

    @Test func singleQuotesAsGLibAcceptsThem() throws {
        #expect(try arguments("sh -c 'echo \"a b\"; exit 0'") == ["sh", "-c", "echo \"a b\"; exit 0"])
    }

    @Test func fileAndURLFieldCodesVanishWithoutLeavingEmptyArguments() throws {
        #expect(try arguments("app %f") == ["app"])
        #expect(try arguments("app %F --new %U %u") == ["app", "--new"])
        #expect(try arguments("app %d %D %n %N %v %m") == ["app"], "deprecated codes are removed")
        #expect(try arguments("app --file=%f") == ["app", "--file="], "inside a word the code expands to nothing")
    }

    @Test func contextFieldCodesExpand() throws {
        let context = DesktopEntryExec.Context(icon: "whiteboard", name: "White Board", location: "/apps/wb.desktop")
        #expect(try arguments("app %i %c %k", context) == ["app", "--icon", "whiteboard", "White Board", "/apps/wb.desktop"])
        #expect(try arguments("app %i", .init()) == ["app"], "%i without an icon is nothing")
        #expect(try arguments("app --title=%c", context) == ["app", "--title=White Board"])
    }

    @Test func percentSigns() throws {
        #expect(try arguments("app 100%%") == ["app", "100%"])
        #expect(try arguments(#"app "50%% %f""#) == ["app", "50% %f"], "codes are not expanded inside quotes")
        #expect(throws: DesktopEntryExec.ExecSyntaxError.self) { try arguments("app %z") }
        #expect(throws: DesktopEntryExec.ExecSyntaxError.self) { try arguments("app 100%") }
    }

    @Test func hostileAndBrokenLinesAreRefusedWithAReason() throws {
        for bad in [#"app "unterminated"#, "app 'open", #"app trailing\"#, "", "   ", "%f", #""""#] {
            #expect(throws: DesktopEntryExec.ExecSyntaxError.self, "\(bad.debugDescription)") { try arguments(bad) }
        }
        let huge = "app " + String(repeating: "x", count: DesktopEntryExec.maximumLength)
        let error = #expect(throws: DesktopEntryExec.ExecSyntaxError.self) { try arguments(huge) }
        #expect(error?.description.contains("bytes long") == true)
        let many = "app" + String(repeating: " a", count: DesktopEntryExec.maximumArguments + 1)
        #expect(throws: DesktopEntryExec.ExecSyntaxError.self) { try arguments(many) }
        #expect(throws: DesktopEntryExec.ExecSyntaxError.self) { try arguments("app \0x") }
    }

    @Test func aCombiningMarkCannotHideAClosingQuote() throws {
        // As Characters, "\"" + U+0301 is one grapheme that is not a quote.
        #expect(try arguments("app \"a\"\u{0301}") == ["app", "a\u{0301}"])
    }

    // MARK: Key file

    @Test func readsTheDesktopEntryGroupAndItsEscapes() throws {
        let parsed = try entry("""
            # comment
            [Desktop Entry]
            Type=Application
            Name=White Board
            Name[de]=Weiße Tafel
            Icon=whiteboard
            Exec = "/opt/white board/wb" --title\\s%c "a\\\\\\\\b" %U %i

            [Desktop Action new]
            Exec=/somewhere/else
            """)
        #expect(parsed.name == "White Board")
        #expect(parsed.arguments == ["/opt/white board/wb", "--title", "White Board", #"a\b"#, "--icon", "whiteboard"])
    }

    @Test func crlfLinesAndHiddenEntriesAreAccepted() throws {
        let parsed = try entry("[Desktop Entry]\r\nType=Application\r\nHidden=true\r\nNoDisplay=true\r\nExec=app --x\r\n")
        #expect(parsed.arguments == ["app", "--x"])
    }

    @Test func unusableEntriesAreRefusedSayingWhy() throws {
        let cases: [(String, String)] = [
            ("[Desktop Entry]\nType=Application\nName=x\n", "no Exec"),
            ("[Desktop Entry]\nType=Link\nURL=http://x\nExec=app\n", "Type is 'Link'"),
            ("[Other]\nExec=app\n", "no [Desktop Entry]"),
            ("Exec=app\n", "outside any group"),
            ("[Desktop Entry]\nthis is not a key\n", "neither"),
            ("[Desktop Entry\nExec=app\n", "malformed group"),
            ("[Desktop Entry]\nExec=\"app\n", "never closed"),
            ("[Desktop Entry]\n=value\n", "empty key"),
        ]
        for (text, reason) in cases {
            let error = #expect(throws: LaunchError.self, "\(text.debugDescription)") { try entry(text) }
            #expect(error?.code == .invalidDesktopEntry)
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "") should say \(reason)")
            #expect(error?.message.contains("/apps/org.example.App.desktop") == true)
        }
    }

    @Test func notUTF8AndOversizedFilesAreRefused() throws {
        #expect(throws: LaunchError.self) { try DesktopEntry(contents: [0x5B, 0xFF, 0xFE, 0x5D], location: "/x.desktop") }
        let big = [UInt8](repeating: UInt8(ascii: "#"), count: DesktopEntry.maximumFileSize + 1)
        let error = #expect(throws: LaunchError.self) { try DesktopEntry(contents: big, location: "/x.desktop") }
        #expect(error?.message.contains("bytes") == true)
    }

    @Test func desktopIDsCannotClimbOutOfTheApplicationsFolder() {
        #expect(DesktopEntryLocator.isValidID("org.example.App.desktop"))
        for bad in ["../../etc/passwd.desktop", "a/b.desktop", ".desktop", ".hidden.desktop", "app", "a\0.desktop"] {
            #expect(!DesktopEntryLocator.isValidID(bad), "\(bad.debugDescription)")
        }
    }

    // MARK: Names

    @Test func unitNamesFollowTheDesktopConventionAndEscapeDashes() {
        let name = ApplicationUnitName.make(applicationID: "org.example.my-app", random: 0xab)
        #expect(name == #"app-peercollab-org.example.my\x2dapp@00000000000000ab.service"#)
        #expect(ApplicationUnitName.escape(".hidden/x y") == #"\x2ehidden-x\x20y"#)
        let long = ApplicationUnitName.make(applicationID: String(repeating: "-", count: 255), random: 1)
        #expect(long.utf8.count <= 255)
        #expect(long.hasSuffix("@0000000000000001.service"))
        let escapedID = long.dropFirst(ApplicationUnitName.prefix.count).prefix { $0 != "@" }
        #expect(escapedID.count % 4 == 0, "an escape is never cut in half: \(escapedID)")
    }

    @Test func launchErrorsBecomeTheAPIsBusErrors() {
        #expect(LaunchError.programNotFound("org.example.A: /x: no such file").dbusError
            == DBusError(name: PeerCollabErrorName.notFound.busName, message: "org.example.A: /x: no such file"))
        #expect(LaunchError.invalidDesktopEntry("m").dbusError.name == PeerCollabErrorName.invalidArgument.busName)
        #expect(LaunchError.startFailed("m").dbusError.name == PeerCollabErrorName.failed.busName)
        #expect(LaunchError.timeout("m").dbusError.name == PeerCollabErrorName.timeout.busName)
    }

    @Test func unitObjectPathsEscapeAsSystemdDoes() {
        #expect(TransientUnitStarter.unitPath("app-x@1.service").rawValue == "/org/freedesktop/systemd1/unit/app_2dx_401_2eservice")
    }
}
