/// The version of peercollab, shown by `--version` of both programs, the Manager's
/// `Version` property and the hello peers exchange.
public enum ProductVersion {
    public static let current = "0.1.0"
}
