/// The version of peercollab, shown by `--version` and the Manager's `Version` property.
public enum ProductVersion {
    public static let current = "0.1.0"
}
