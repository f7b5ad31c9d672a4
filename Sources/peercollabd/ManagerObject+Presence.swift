import Collaboration
import DBus

extension ManagerObject {
    /// SetPresence, SetObject, DeleteObject.
    var presenceMethods: [DBusMethod] { [] }
    /// PresenceStatus, PresenceMessage.
    var presenceProperties: [DBusProperty] { [] }
}
