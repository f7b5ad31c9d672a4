/// The part of a unit's state the tests look at.
struct UnitState: CustomStringConvertible {
    static let propertyNames = [
        "ActiveState", "SubState", "MainPID", "StatusText", "NRestarts", "Result",
        "ExecMainCode", "ExecMainStatus", "WatchdogUSec", "WatchdogTimestampMonotonic",
    ]
    let properties: [String: String]
    init(_ properties: [String: String]) { self.properties = properties }

    var activeState: String { properties["ActiveState"] ?? "" }
    var subState: String { properties["SubState"] ?? "" }
    var mainPID: Int32 { Int32(properties["MainPID"] ?? "") ?? 0 }
    var statusText: String { properties["StatusText"] ?? "" }
    var restarts: Int { Int(properties["NRestarts"] ?? "") ?? 0 }
    var result: String { properties["Result"] ?? "" }
    var isRunning: Bool { activeState == "active" && subState == "running" && mainPID > 0 }
    var isInactive: Bool { activeState == "inactive" && subState == "dead" }

    var description: String {
        Self.propertyNames.map { "\($0)=\(properties[$0] ?? "?")" }.joined(separator: " ")
    }
}
