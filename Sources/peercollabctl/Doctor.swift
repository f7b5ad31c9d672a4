import ArgumentParser
import DBus

/// `peercollabctl doctor`: why nobody shows up, and what to do about it.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check what may keep peers from finding you: discovery backend, interfaces, multicast, port, firewall.",
        discussion: "Each check prints ok or a problem with what to do. The exit status is 1 when a problem was found.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let reply = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "Diagnose")
        let report = reply.first?.vardictValue ?? [:]
        let checks = (report["checks"]?.arrayElements ?? []).compactMap { item -> (String, Bool, String, String)? in
            guard let fields = item.structureFields, fields.count == 4, let subject = fields[0].stringValue,
                let ok = fields[1].boolValue, let detail = fields[2].stringValue, let advice = fields[3].stringValue
            else { return nil }
            return (subject, ok, detail, advice)
        }
        if options.json {
            // The checks as objects, so scripts read them by name.
            var members = report.filter { $0.key != "checks" }.sorted { $0.key < $1.key }.map { ($0.key, JSONText.encode($0.value)) }
            members.append(("checks", JSONText.array(checks.map { check in
                JSONText.object([("subject", .string(check.0)), ("ok", .boolean(check.1)), ("detail", .string(check.2)), ("advice", .string(check.3))])
            })))
            print(JSONText.encoded(members))
        } else {
            print("Discovery backend: \(report["backend"]?.stringValue ?? "?")")
            for (subject, ok, detail, advice) in checks {
                print("\(ok ? "ok     " : "PROBLEM") \(subject): \(detail)")
                if !ok, !advice.isEmpty { print("        → \(advice)") }
            }
        }
        if checks.contains(where: { !$0.1 }) { throw ExitCode(ExitStatus.refused) }
    }
}
