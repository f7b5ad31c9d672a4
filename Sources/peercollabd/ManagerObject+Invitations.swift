import Collaboration
import DBus

extension ManagerObject {
    /// Invite, RegisterApplication, UnregisterApplication.
    var applicationMethods: [DBusMethod] { [] }
    /// InvitationPolicy.
    var invitationProperties: [DBusProperty] { [] }
    /// InvitationReceived.
    var invitationSignals: [DBusSignal] { [] }
}
