/// What `RegisterApplication`'s info dictionary says about an application, before validation.
public struct ApplicationRegistration: Sendable, Equatable {
    /// Shown to the people I invite and in my own lists: 1–128 characters.
    public var name: String
    /// ≤ 1,024 bytes.
    public var description: String
    /// The command to run on accept; exclusive with `desktopID`. Neither: accepting starts nothing.
    public var exec: [String]
    /// A desktop entry id such as `org.example.App.desktop`; exclusive with `exec`.
    public var desktopID: String
    /// Opaque, ≤ 64 KiB, for the application's own use.
    public var data: [UInt8]
    /// `near-me`, `internet` or `all` (the default): where invitations into it are accepted.
    public var scope: String

    public init(name: String, description: String = "", exec: [String] = [], desktopID: String = "", data: [UInt8] = [], scope: String = "all") {
        self.name = name
        self.description = description
        self.exec = exec
        self.desktopID = desktopID
        self.data = data
        self.scope = scope
    }

    /// At most this many applications are registered (Windows' limit too).
    public static let maximumCount = 64
    public static let maximumDescriptionBytes = 1024
    public static let maximumDataBytes = 64 * 1024
    /// Arguments of `exec`, and bytes in all of them together.
    public static let maximumArguments = 256
    public static let maximumExecBytes = 32 * 1024
    public static let maximumDesktopIDBytes = 255
}
