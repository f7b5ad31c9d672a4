import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Keeps ``Settings`` in one JSON file, replaced atomically and flushed before a change is
/// acknowledged, so a crash at any moment leaves either the old or the new file.
public struct SettingsStore: Sendable {
    /// The settings file, `$XDG_CONFIG_HOME/peercollab/settings.json` by default.
    public let url: URL
    /// Settings files are tiny; anything larger is not ours.
    public static let maximumFileSize = 64 * 1024

    public init(directory: URL) {
        url = directory.appending(path: "settings.json")
    }

    /// Reads the settings; a missing file gives the defaults. A damaged file is not
    /// overwritten: the error names it, and a copy is kept beside it.
    public func load() throws -> Settings {
        let data: Data
        switch BoundedFile.read(url.path, limit: Self.maximumFileSize) {
        case .missing: return Settings()
        case .tooLarge: throw damaged("it is larger than \(Self.maximumFileSize) bytes, more than settings ever are")
        case .failed(let reason): throw CollaborationError.failed("Failed to read settings from \(url.path): \(reason)")
        case .contents(let bytes): data = bytes
        }
        do {
            return try JSONDecoder().decode(Settings.self, from: data)
        } catch {
            throw damaged("it is not valid settings JSON")
        }
    }

    private func damaged(_ why: String) -> CollaborationError {
        let copy = url.path + ".damaged"
        if !FileManager.default.fileExists(atPath: copy) {
            try? FileManager.default.copyItem(atPath: url.path, toPath: copy)
        }
        return .failed(
            "The settings file \(url.path) is damaged: \(why). A copy was kept at \(copy); "
                + "fix or remove the file and start peercollabd again.")
    }

    /// Writes the settings durably: a new file is written, flushed, and renamed over the old one.
    public func save(_ settings: Settings) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(settings)
        try AtomicFile.write(data, to: url, mode: 0o600)
    }
}
