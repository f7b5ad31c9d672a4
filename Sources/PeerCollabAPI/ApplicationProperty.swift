/// The properties of `org.peercollab.PeerCollab1.Application`, an application registered
/// with the daemon. Registering the same id again replaces all but the id.
public enum ApplicationProperty: String, APIProperty {
    case id = "Id"
    case name = "Name"
    case description = "Description"
    case exec = "Exec"
    case desktopID = "DesktopId"
    case data = "Data"
    case scope = "Scope"

    public var change: PropertyChange { self == .id ? .constant : .emitsValue }
}
