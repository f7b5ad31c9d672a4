/// A contact as stored: the pinned key and what the user decided about it.
public struct ContactRecord: Sendable, Equatable {
    /// Derived from the certificate's key; the primary key.
    public var peerName: String
    public var certificateDER: [UInt8]
    /// The name from their card or profile (a claim; `nickname` is the user's own word).
    public var displayName: String
    public var nickname: String
    public var email: String
    public var verified: Bool
    public var subscribeAllowed: Bool
    public var subscribed: Bool
    /// Where to reach them over the internet scope, in the order given.
    public var endpoints: [ContactEndpoint]
    /// When the contact was added (µs since the epoch).
    public var added: UInt64

    public init(
        peerName: String, certificateDER: [UInt8], displayName: String, nickname: String = "", email: String = "",
        verified: Bool, subscribeAllowed: Bool, subscribed: Bool, endpoints: [ContactEndpoint], added: UInt64
    ) {
        self.peerName = peerName
        self.certificateDER = certificateDER
        self.displayName = displayName
        self.nickname = nickname
        self.email = email
        self.verified = verified
        self.subscribeAllowed = subscribeAllowed
        self.subscribed = subscribed
        self.endpoints = endpoints
        self.added = added
    }
}

extension CollaborationStore {
    /// Every contact, endpoints included.
    public func allContacts() throws(StoreError) -> [ContactRecord] {
        var endpoints: [String: [ContactEndpoint]] = [:]
        let endpointRows = try database.statement("SELECT peer_name, host, port FROM contact_endpoints ORDER BY peer_name, position")
        while try endpointRows.step() {
            endpoints[endpointRows.text(0), default: []].append(
                ContactEndpoint(host: endpointRows.text(1), port: UInt16(truncatingIfNeeded: endpointRows.integer(2))))
        }
        var contacts: [ContactRecord] = []
        let rows = try database.statement(
            "SELECT peer_name, certificate, display_name, nickname, email, verified, subscribe_allowed, subscribed, added FROM contacts")
        while try rows.step() {
            let peerName = rows.text(0)
            contacts.append(
                ContactRecord(
                    peerName: peerName, certificateDER: rows.blob(1), displayName: rows.text(2), nickname: rows.text(3),
                    email: rows.text(4), verified: rows.integer(5) != 0, subscribeAllowed: rows.integer(6) != 0,
                    subscribed: rows.integer(7) != 0, endpoints: endpoints[peerName] ?? [],
                    added: UInt64(bitPattern: rows.integer(8))))
        }
        return contacts
    }

    /// Inserts or replaces a contact and its endpoints in one durable transaction.
    public func saveContact(_ contact: ContactRecord) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            try database.statement(
                """
                INSERT INTO contacts (peer_name, certificate, display_name, nickname, email, verified, subscribe_allowed, subscribed, added)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (peer_name) DO UPDATE SET certificate = excluded.certificate, display_name = excluded.display_name,
                    nickname = excluded.nickname, email = excluded.email, verified = excluded.verified,
                    subscribe_allowed = excluded.subscribe_allowed, subscribed = excluded.subscribed
                """
            ).bind(
                .text(contact.peerName), .blob(contact.certificateDER), .text(contact.displayName), .text(contact.nickname),
                .text(contact.email), .bool(contact.verified), .bool(contact.subscribeAllowed), .bool(contact.subscribed),
                .unsigned(contact.added)
            ).run()
            try database.statement("DELETE FROM contact_endpoints WHERE peer_name = ?").bind(.text(contact.peerName)).run()
            for (position, endpoint) in contact.endpoints.enumerated() {
                try database.statement("INSERT INTO contact_endpoints (peer_name, position, host, port) VALUES (?, ?, ?, ?)")
                    .bind(.text(contact.peerName), .integer(Int64(position)), .text(endpoint.host), .integer(Int64(endpoint.port)))
                    .run()
            }
        }
    }

    /// Removes a contact (and its endpoints); returns whether there was one.
    @discardableResult
    public func deleteContact(peerName: String) throws(StoreError) -> Bool {
        try database.transaction { () throws(StoreError) in
            try database.statement("DELETE FROM contacts WHERE peer_name = ?").bind(.text(peerName)).run()
            return database.changes > 0
        }
    }
}
