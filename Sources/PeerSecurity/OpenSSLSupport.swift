import COpenSSL

/// Small helpers over libcrypto calls that several types share.
///
/// OpenSSL keeps its error queue per thread, so each helper that reports an
/// error reads the queue on the same thread right after the failing call.
enum OpenSSLSupport {
    /// What this thread's OpenSSL error queue held.
    struct ErrorQueue {
        /// The packed error codes, oldest first (ERR_GET_REASON extracts the reason).
        var codes: [UInt] = []
        /// One readable sentence, e.g. "error:0A000086:SSL routines::certificate verify failed".
        var description: String { texts.isEmpty ? "no OpenSSL error recorded" : texts.joined(separator: "; ") }
        var texts: [String] = []

        /// Whether any queued error has this reason code (an SSL_R_* or X509_R_* constant).
        func contains(reason: Int32) -> Bool { codes.contains { ERR_GET_REASON($0) == reason } }
    }

    /// Drains this thread's OpenSSL error queue.
    static func drainErrorQueue() -> ErrorQueue {
        var queue = ErrorQueue()
        // OpenSSL bounds the queue (16 entries); the cap is a safety net.
        for _ in 0..<32 {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            queue.codes.append(code)
            queue.texts.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return queue
    }

    /// The queue as one sentence; see ``ErrorQueue/description``.
    static func drainErrors() -> String { drainErrorQueue().description }

    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        // SHA-256 over memory cannot fail short of memory exhaustion.
        precondition(ok == 1, "SHA-256 failed: \(drainErrors())")
        return Array(digest.prefix(Int(length)))
    }

    /// Reads everything a memory BIO holds.
    static func readAll(_ bio: OpaquePointer) -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(bio))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = BIO_read(bio, &bytes, Int32(pending))
        return Array(bytes.prefix(max(0, Int(read))))
    }

    /// A read-only memory BIO over a copy of `bytes`; the caller frees it.
    static func memoryBIO(_ bytes: [UInt8]) -> OpaquePointer? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        if !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
            guard written == Int32(bytes.count) else {
                BIO_free(bio)
                return nil
            }
        }
        return bio
    }

    /// DER encoding of a public key as SubjectPublicKeyInfo.
    static func subjectPublicKeyInfo(_ key: OpaquePointer) -> [UInt8]? {
        let length = i2d_PUBKEY(key, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_PUBKEY(key, &cursor)
        }
        return written == length ? der : nil
    }

    /// DER encoding of a certificate.
    static func certificateDER(_ certificate: OpaquePointer) -> [UInt8]? {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(certificate, &cursor)
        }
        return written == length ? der : nil
    }

    /// Parses a DER certificate; the caller frees the result with X509_free.
    static func parseCertificate(der: [UInt8]) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            guard let certificate = d2i_X509(nil, &cursor, buffer.count) else { return nil }
            // Trailing bytes after the certificate mean the input was not one certificate.
            guard cursor == buffer.baseAddress.map({ $0 + buffer.count }) else {
                X509_free(certificate)
                return nil
            }
            return certificate
        }
    }

    /// Seconds since 1970 of an ASN1_TIME, or nil when it is malformed.
    static func secondsSince1970(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }
}
