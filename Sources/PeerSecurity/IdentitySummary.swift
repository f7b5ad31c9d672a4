/// What a started daemon needs to know of its identity before anyone signs in: the peer
/// name, the certificate's fingerprint and end of validity, kept in `identity.cache` next
/// to the key, with the state of both identity files it was computed from.
///
/// It is a cache, never a source of truth: it is believed only while `key.pem` and
/// `certificate.pem` have the very device, inode, size and change time they had when it
/// was written (our writes replace a file by rename, so a new key or certificate always
/// has a new inode; `chmod` or any other change moves the change time, which no tool can
/// set back). Anything else, a missing, foreign, damaged or oversized file included,
/// means "load the identity now", as the daemon always did. Deleting it is always safe.
struct IdentitySummary: Sendable, Equatable {
    /// The file name inside the identity folder.
    static let fileName = "identity.cache"
    /// The first line; a future format changes the number and is ignored by this one.
    static let header = "peercollab identity cache 1"
    /// The file is six short lines; anything larger is not ours.
    static let maximumSize = 1024

    let peerName: PeerName
    let fingerprint: Fingerprint
    /// End of the certificate's validity, seconds since 1970 (UTC).
    let notAfter: Int64
    let key: FileStamp
    let certificate: FileStamp

    /// Where a file was and when it last changed; equal stamps mean the file was not
    /// replaced, rewritten or had its mode changed in between.
    struct FileStamp: Sendable, Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let changeSeconds: Int64
        let changeNanoseconds: Int64

        /// The stamp of `path` now, or nil when it cannot be examined.
        init?(path: String) {
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            changeSeconds = Int64(status.st_ctim.tv_sec)
            changeNanoseconds = Int64(status.st_ctim.tv_nsec)
        }

        init?(fields: [Substring]) {
            guard fields.count == 5,
                let device: UInt64 = canonicalInteger(fields[0]), let inode: UInt64 = canonicalInteger(fields[1]),
                let size: Int64 = canonicalInteger(fields[2]),
                let changeSeconds: Int64 = canonicalInteger(fields[3]), let changeNanoseconds: Int64 = canonicalInteger(fields[4])
            else { return nil }
            self.device = device
            self.inode = inode
            self.size = size
            self.changeSeconds = changeSeconds
            self.changeNanoseconds = changeNanoseconds
        }

        var fields: String { "\(device) \(inode) \(size) \(changeSeconds) \(changeNanoseconds)" }
    }

    /// The summary of a loaded identity, stamped with its files as they are now; nil when
    /// either file cannot be examined.
    init?(of identity: PeerIdentity) {
        guard let key = FileStamp(path: PeerIdentity.path(identity.directory, PeerIdentity.keyFileName)),
            let certificate = FileStamp(path: PeerIdentity.path(identity.directory, PeerIdentity.certificateFileName))
        else { return nil }
        self.init(peerName: identity.peerName, fingerprint: identity.fingerprint, notAfter: identity.notAfter, key: key, certificate: certificate)
    }

    /// The summary of the certificate in `directory` alone, the key unread (a key file the
    /// daemon refuses); nil without a readable certificate.
    init?(certificateIn directory: String) {
        let path = PeerIdentity.path(directory, PeerIdentity.certificateFileName)
        guard case .present(let pem)? = try? IdentityFile.read(path, private: false),
            let certificate = try? PeerCertificate(pemEncoded: String(decoding: pem, as: UTF8.self)),
            let key = FileStamp(path: PeerIdentity.path(directory, PeerIdentity.keyFileName)),
            let stamp = FileStamp(path: path)
        else { return nil }
        self.init(peerName: certificate.peerName, fingerprint: certificate.fingerprint, notAfter: certificate.notAfter, key: key, certificate: stamp)
    }

    init(peerName: PeerName, fingerprint: Fingerprint, notAfter: Int64, key: FileStamp, certificate: FileStamp) {
        self.peerName = peerName
        self.fingerprint = fingerprint
        self.notAfter = notAfter
        self.key = key
        self.certificate = certificate
    }

    /// Parses the file's text; nil for anything but exactly the lines ``encoded`` writes.
    init?(parsing text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 7, lines[0] == Self.header, lines[6].isEmpty else { return nil }
        func value(_ index: Int, _ name: String) -> Substring? {
            let line = lines[index]
            guard line.hasPrefix(name + " ") else { return nil }
            return line.dropFirst(name.count + 1)
        }
        guard let name = value(1, "peer-name"), let peerName = try? PeerName(parsing: String(name)),
            peerName.description == name,
            let fingerprintText = value(2, "fingerprint"), let fingerprint = Fingerprint(hex: fingerprintText),
            let notAfterText = value(3, "not-after"), let notAfter: Int64 = canonicalInteger(notAfterText),
            let keyText = value(4, "key"), let key = FileStamp(fields: keyText.split(separator: " ", omittingEmptySubsequences: false)),
            let certificateText = value(5, "certificate"),
            let certificate = FileStamp(fields: certificateText.split(separator: " ", omittingEmptySubsequences: false))
        else { return nil }
        self.init(peerName: peerName, fingerprint: fingerprint, notAfter: notAfter, key: key, certificate: certificate)
    }

    var encoded: String {
        """
        \(Self.header)
        peer-name \(peerName)
        fingerprint \(fingerprint.hex)
        not-after \(notAfter)
        key \(key.fields)
        certificate \(certificate.fields)

        """
    }

    /// Whether both identity files in `directory` are still the ones this was computed from.
    func matchesFiles(in directory: String) -> Bool {
        FileStamp(path: PeerIdentity.path(directory, PeerIdentity.keyFileName)) == key
            && FileStamp(path: PeerIdentity.path(directory, PeerIdentity.certificateFileName)) == certificate
    }

    /// The summary kept in `directory`, or nil when there is none usable.
    static func read(directory: String) -> IdentitySummary? {
        guard case .present(let bytes)? = try? IdentityFile.read(PeerIdentity.path(directory, fileName), private: false, limit: maximumSize) else {
            return nil
        }
        return IdentitySummary(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// Keeps this summary in `directory` (atomically, like the identity files).
    func write(directory: String) throws {
        try IdentityFile.writeAtomically(Array(encoded.utf8), to: PeerIdentity.path(directory, Self.fileName), mode: 0o644)
    }

    /// Forgets the summary kept in `directory`, so that the next start loads the identity.
    static func remove(directory: String) {
        unlink(PeerIdentity.path(directory, fileName))
    }
}

/// `text` as an integer only in the form `String(value)` writes: no sign on a positive
/// number, no leading zeros, no spaces; one text per value.
private func canonicalInteger<Value: FixedWidthInteger>(_ text: Substring) -> Value? {
    guard let value = Value(text), String(value) == text else { return nil }
    return value
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
