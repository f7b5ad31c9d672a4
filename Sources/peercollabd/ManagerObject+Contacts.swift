import Collaboration
import DBus

extension ManagerObject {
    /// AddContact.
    var contactMethods: [DBusMethod] { [] }
}
