extension ContactCard {
    /// Reads a contact card someone sent, refusing it whole if anything is wrong.
    ///
    /// Accepted: exactly one vCard 4.0 with CRLF or LF line endings, folded or not, with
    /// exactly one `FN`, one `KEY` holding `data:application/pkix-cert;base64,…` (the comma
    /// escaped or not), one `X-PEERCOLLAB-PEERNAME`, at most one `EMAIL` and up to 32
    /// `X-PEERCOLLAB-ENDPOINT`s. Other properties (`N`, `UID`, `TEL`, …) must be well-formed
    /// lines and are otherwise ignored.
    ///
    /// vCard 3.0 is refused (`unsupportedVersion`): its inline `KEY;ENCODING=b` differs, and
    /// every peercollab writes 4.0, so accepting it would only widen what hostile input can try.
    ///
    /// The size limit is checked before anything else is read.
    public init(parsing text: String) throws(ContactCardError) {
        let size = text.utf8.count
        guard size <= Self.maximumCardBytes else {
            throw .tooLarge("it is \(size) bytes", limit: "\(Self.maximumCardBytes) bytes (64 KiB)")
        }
        let body = try Self.body(of: ContactCardContentLine.lines(of: text))

        let versions = body.filter { $0.name == "VERSION" }
        guard let version = versions.first else {
            throw .missingField("VERSION", meaning: "the vCard version, 4.0")
        }
        guard versions.count == 1 else {
            throw .repeatedField("VERSION", line: versions[1].line, firstLine: version.line)
        }
        guard version.value.trimmingBlanks == "4.0" else {
            throw .unsupportedVersion(version.value, line: version.line)
        }

        func single(_ name: String) throws(ContactCardError) -> ContactCardContentLine? {
            let matches = body.filter { $0.name == name }
            if matches.count > 1 { throw .repeatedField(name, line: matches[1].line, firstLine: matches[0].line) }
            return matches.first
        }
        guard let nameLine = try single("FN") else {
            throw .missingField("FN", meaning: "the person's display name")
        }
        guard let keyLine = try single("KEY") else {
            throw .missingField("KEY", meaning: "the certificate that proves who the peer is")
        }
        guard let peerNameLine = try single(Self.peerNameProperty) else {
            throw .missingField(Self.peerNameProperty, meaning: "the peer name")
        }
        let emailLine = try single("EMAIL")
        let endpointLines = body.filter { $0.name == Self.endpointProperty }
        guard endpointLines.count <= Self.maximumEndpoints else {
            throw .tooLarge("it lists \(endpointLines.count) endpoints", limit: "\(Self.maximumEndpoints)")
        }

        let displayName = ContactCardContentLine.unescapeText(nameLine.value)
        try Self.validateDisplayName(displayName, line: nameLine.line)
        var email: String?
        if let emailLine {
            email = ContactCardContentLine.unescapeText(emailLine.value)
            try Self.validateEmail(email ?? "", line: emailLine.line)
        }
        let certificate = try Self.certificate(in: keyLine)
        let peerName = ContactCardContentLine.unescapeText(peerNameLine.value)
        try Self.validatePeerName(peerName, line: peerNameLine.line)
        var endpoints: [ContactEndpoint] = []
        var seen: [ContactEndpoint: Int] = [:]
        for line in endpointLines {
            let endpoint = try ContactEndpoint(cardValue: ContactCardContentLine.unescapeText(line.value), line: line.line)
            if let first = seen[endpoint] {
                throw .repeatedField(Self.endpointProperty, line: line.line, firstLine: first)
            }
            seen[endpoint] = line.line
            endpoints.append(endpoint)
        }
        self.init(
            displayName: displayName, email: email, peerName: peerName,
            certificateDER: certificate, endpoints: endpoints
        )
    }

    /// The lines between `BEGIN:VCARD` and `END:VCARD`, after checking that the text is one
    /// whole card and nothing else.
    private static func body(of lines: [ContactCardContentLine]) throws(ContactCardError) -> ArraySlice<ContactCardContentLine> {
        guard let first = lines.first else {
            throw .notAVCard("it is empty")
        }
        guard first.name == "BEGIN", first.value.trimmingBlanks.uppercased() == "VCARD" else {
            let shown = first.name == "BEGIN" ? "BEGIN:\(first.value.prefix(20))" : first.name
            throw .notAVCard("it starts with \"\(shown)\" on line \(first.line) instead of BEGIN:VCARD", line: first.line)
        }
        guard let end = lines.indices.dropFirst().first(where: { lines[$0].name == "END" || lines[$0].name == "BEGIN" }) else {
            throw .notAVCard("it ends without END:VCARD, so it was probably cut off")
        }
        let closing = lines[end]
        guard closing.name == "END" else {
            throw .malformedLine(closing.line, "it opens another vCard inside this one; a contact card holds exactly one person")
        }
        guard closing.value.trimmingBlanks.uppercased() == "VCARD" else {
            throw .malformedLine(closing.line, "END:\(closing.value.prefix(20)) does not close BEGIN:VCARD")
        }
        if end + 1 < lines.count {
            throw .malformedLine(lines[end + 1].line, "it follows END:VCARD; import one contact card at a time")
        }
        return lines[1..<end]
    }

    /// The certificate in `KEY`: a `data:application/pkix-cert;base64,…` URI, decoded strictly.
    private static func certificate(in key: ContactCardContentLine) throws(ContactCardError) -> [UInt8] {
        func invalid(_ reason: String) -> ContactCardError { .invalidValue("KEY", line: key.line, reason) }
        if let types = key.parameter("MEDIATYPE"), !types.allSatisfy({ $0.lowercased() == certificateMediaType }) {
            throw invalid("has MEDIATYPE=\(types.joined(separator: ",")); it must be \(certificateMediaType), an X.509 certificate")
        }
        if let kinds = key.parameter("VALUE"), kinds.map({ $0.lowercased() }) != ["uri"] {
            throw invalid("has VALUE=\(kinds.joined(separator: ",")); a vCard 4.0 KEY carries the certificate as a data: URI")
        }
        // Writers differ on escaping the URI's comma and semicolon (RFC 6350 errata 3845);
        // neither can occur in base64, so unescaping accepts both forms and loses nothing.
        let uri = ContactCardContentLine.unescapeText(key.value)
        guard uri.utf8.count >= 5, uri.prefix(5).lowercased() == "data:" else {
            if key.parameter("ENCODING") != nil {
                throw invalid("uses ENCODING, the vCard 3.0 way of inlining a key; vCard 4.0 writes data:\(certificateMediaType);base64,…")
            }
            throw invalid("is \"\(uri.prefix(40))\", not a data: URI with the certificate (data:\(certificateMediaType);base64,…); a card that only points to a key cannot be trusted")
        }
        guard let comma = uri.firstIndex(of: ",") else {
            throw invalid("is a data: URI without the ',' that starts its data")
        }
        let header = uri[uri.index(uri.startIndex, offsetBy: 5)..<comma].split(separator: ";", omittingEmptySubsequences: false)
        guard header[0].lowercased() == certificateMediaType else {
            throw invalid("holds \"\(header[0].prefix(40))\" data, but the certificate must be \(certificateMediaType)")
        }
        guard header.count >= 2, header[header.count - 1].lowercased() == "base64" else {
            throw invalid("is a data: URI that is not base64-encoded (data:\(certificateMediaType);base64,…)")
        }
        let der: [UInt8]
        switch ContactCardBase64.decode(uri[uri.index(after: comma)...]) {
        case .success(let bytes):
            der = bytes
        case .failure(.length(let count)):
            throw invalid("has \(count) characters of base64, which is not a whole number of 4-character groups; it was probably cut off")
        case .failure(.character(let scalar, let offset)):
            throw invalid("has \(scalar.codePointDescription) at position \(offset + 1) of its base64 data, a character base64 does not use")
        case .failure(.padding):
            throw invalid("has '=' inside its base64 data; '=' may only pad the end")
        case .failure(.trailingBits):
            throw invalid("has base64 data whose last character carries stray bits, so no base64 encoder wrote it")
        }
        try validateCertificate(der, line: key.line)
        return der
    }
}

extension String {
    /// Without leading and trailing spaces and tabs, which some writers leave around values.
    var trimmingBlanks: Substring {
        var trimmed = self[...]
        while trimmed.first == " " || trimmed.first == "\t" { trimmed.removeFirst() }
        while trimmed.last == " " || trimmed.last == "\t" { trimmed.removeLast() }
        return trimmed
    }
}
