import Collaboration
import DBus

extension ApplicationRegistration {
    /// RegisterApplication's `info`: known keys with their types; anything else is refused,
    /// so that a misspelt key is not silently ignored.
    init(busInfo info: DBusValue) throws(CollaborationError) {
        let entries = info.vardictValue ?? [:]
        func string(_ key: String) throws(CollaborationError) -> String? {
            guard let value = entries[key] else { return nil }
            guard let text = value.stringValue else { throw .invalidArgument("info['\(key)'] must be a string (s).") }
            return text
        }
        let known: Set<String> = ["name", "description", "exec", "desktop-id", "data", "scope"]
        if let unknown = entries.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidArgument(
                "info has an unknown key '\(unknown.prefix(64))'; the keys are name, description, exec, desktop-id, data and scope.")
        }
        guard let name = try string("name") else { throw .invalidArgument("info must have a 'name' (s).") }
        self.init(name: name)
        description = try string("description") ?? ""
        desktopID = try string("desktop-id") ?? ""
        scope = try string("scope") ?? "all"
        if let exec = entries["exec"] {
            guard exec.signature == .array(of: .string), let argv = exec.stringArrayValue else {
                throw .invalidArgument("info['exec'] must be an array of strings (as).")
            }
            self.exec = argv
        }
        if let data = entries["data"] {
            guard data.signature == .array(of: .byte), let bytes = data.bytesValue else {
                throw .invalidArgument("info['data'] must be bytes (ay).")
            }
            self.data = bytes
        }
    }
}
