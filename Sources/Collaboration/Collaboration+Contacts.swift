import PeerProtocol
import PeerSecurity

/// The persistent contact list: a contact pins a key. Contacts are matched to peers by peer
/// name only, which is derived from the key; a display name never makes anyone a contact.
///
/// Every change follows one order: the store first (durable when it returns), then the state
/// in memory, then the event, then the caller's reply, so a `kill -9` at any moment loses
/// nothing that was acknowledged.
extension Collaboration {
    // MARK: Queries

    /// The contact with this id (its peer name), with what its peer says now when connected.
    public func contact(_ id: String) -> ContactDetails? {
        guard let record = contacts[id] else { return nil }
        return details(of: record)
    }

    /// Every contact's id, sorted.
    public var contactIDs: [String] { contacts.keys.sorted() }

    func details(of record: ContactRecord) -> ContactDetails? {
        guard let key = contactKey(record) else { return nil }
        let peer = shownPeer(record.peerName)
        return ContactDetails(
            record: record, fingerprint: key.fingerprint, verificationCode: key.verificationCode,
            peer: peer, lastSeen: peer?.lastSeen ?? contactLastSeen[record.peerName] ?? 0)
    }

    /// What the pinned certificate gives, cached. A row whose certificate's key does not
    /// give its peer name (the file edited by hand) gives nil: the contact is left out (its
    /// getters fail, so GetManagedObjects skips it) and no peer is ever taken for it.
    func contactKey(_ record: ContactRecord) -> ContactKey? {
        if let key = contactKeys[record.peerName], key.certificateDER == record.certificateDER { return key }
        let localPublicKeyDER: [UInt8]
        do {
            localPublicKeyDER = try loadedIdentity().publicKeyDER
        } catch {
            logger.error("Cannot show contacts: my identity failed to load", metadata: ["error": "\(error)"])
            return nil
        }
        guard let key = ContactKey(certificateDER: record.certificateDER, peerName: record.peerName, localPublicKeyDER: localPublicKeyDER) else {
            logger.warning("A stored contact's certificate does not give its peer name; ignoring it", metadata: ["contact": "\(record.peerName)"])
            return nil
        }
        contactKeys[record.peerName] = key
        return key
    }

    // MARK: Adding

    /// Imports someone's contact card (received out of band, so the contact is verified) and
    /// returns the contact's id.
    ///
    /// The card must parse, its certificate must be one X.509 certificate, and the peer name
    /// it states must be the one its key gives. Validity dates are not checked here: a peer
    /// renews its certificate with the same key, so a card with an expired certificate still
    /// pins the right key, and TLS checks the dates of whatever certificate is presented.
    ///
    /// A card for a key I already have returns that contact, now verified, with the card's
    /// display name and email, the card's endpoints first (then the others already known, up
    /// to ``ContactCard/maximumEndpoints``), and the card's certificate if it is newer.
    /// Nickname and subscription settings are kept.
    public func addContact(card text: String) throws -> String {
        let card: ContactCard
        do {
            card = try ContactCard(parsing: text)
        } catch {
            throw CollaborationError(.invalidCard, error.message)
        }
        let certificate: PeerCertificate
        do {
            certificate = try PeerCertificate(derEncoded: card.certificateDER)
        } catch {
            throw CollaborationError(
                .invalidCard,
                "The contact card's certificate (KEY) is not a usable X.509 certificate: \(error) \(ContactCardError.advice)")
        }
        let stated: PeerName
        do {
            stated = try PeerName(parsing: card.peerName)
        } catch {
            throw CollaborationError(.invalidCard, "The contact card's peer name is wrong: \(error). \(ContactCardError.advice)")
        }
        guard stated == certificate.peerName else {
            throw CollaborationError(
                .invalidCard,
                "The contact card says its peer name is \(card.peerName), but its certificate's key gives "
                    + "\(certificate.peerName): the card was altered or assembled from two people's parts. Do not trust it; "
                    + "ask the person for their card again over a channel you trust.")
        }
        guard certificate.peerName != identity.peerName else {
            throw CollaborationError.invalidArgument("That contact card is your own; import someone else's.")
        }
        let id = certificate.peerName.description
        let now = Self.microsecondsSinceEpoch()
        if let existing = contacts[id] {
            var updated = existing
            updated.displayName = card.displayName
            updated.email = card.email ?? ""
            updated.verified = true
            updated.endpoints = Array((card.endpoints + existing.endpoints.filter { !card.endpoints.contains($0) })
                .prefix(ContactCard.maximumEndpoints))
            if let pinned = try? PeerCertificate(derEncoded: existing.certificateDER), certificate.notAfter > pinned.notAfter {
                updated.certificateDER = certificate.derEncoded
            }
            try saveContactRecord(updated)
            logger.info("Contact card imported again for a known key", metadata: ["contact": "\(id)"])
            return id
        }
        let record = ContactRecord(
            peerName: id, certificateDER: certificate.derEncoded, displayName: card.displayName, email: card.email ?? "",
            verified: true, subscribeAllowed: true, subscribed: true, endpoints: card.endpoints, added: now)
        try insertContact(record)
        return id
    }

    /// Pins the key of a connected peer as an unverified contact (the user should compare
    /// the verification code and then set Verified); returns the contact's id. A peer that
    /// already is a contact returns that contact unchanged.
    ///
    /// The key pinned is the one the peer proved in the TLS session, never anything it says.
    /// Subscribe is on (I follow their presence) but SubscribeAllowed is off: an unverified
    /// key could be someone in between, so it sees nothing of mine beyond the subnet until
    /// the user allows it.
    public func addToContacts(peerID id: String) throws -> String {
        guard let peer = peers[id] else {
            throw CollaborationError.notFound("No peer \(id) is connected now; a contact can be made only from a connected peer.")
        }
        if contacts[id] != nil { return id }
        let shown = peer.displayName
        let displayName = (try? ContactCard.validateDisplayName(shown)) != nil ? shown : ""
        let record = ContactRecord(
            peerName: id, certificateDER: peer.certificate.derEncoded, displayName: displayName, verified: false,
            subscribeAllowed: false, subscribed: true, endpoints: listeningEndpoints(of: id), added: Self.microsecondsSinceEpoch())
        try insertContact(record)
        return id
    }

    /// Where a connected peer listens: the address I dialled, or what it announced near me
    /// (an incoming connection's source port is not where it listens).
    private func listeningEndpoints(of id: String) -> [ContactEndpoint] {
        if let linkID = linkRegistry.linkID(ofPeer: id), let link = linkRegistry.link(linkID), link.isOutgoing, let endpoint = link.remoteEndpoint {
            return [endpoint]
        }
        let announced = nearbyDials.endpoints(claimedBy: id)
        return Array(announced.prefix(ContactCard.maximumEndpoints))
    }

    private func insertContact(_ record: ContactRecord) throws {
        do {
            try database.saveContact(record)
        } catch {
            throw CollaborationError(error)
        }
        let id = record.peerName
        contacts[id] = record
        logger.info("Contact added", metadata: ["contact": "\(id)", "verified": "\(record.verified)"])
        announce(.contactAdded(id))
        peerChanged(id, [.contact])
        invitationsFollowContacts(of: id)
        contactListChanged(id)
        contactNeedsDial(id)
    }

    // MARK: Changing

    /// Removes a contact: its key is no longer pinned, its Peer object (if connected) stays.
    public func removeContact(_ id: String) throws {
        _ = try existingContact(id)
        do {
            try database.deleteContact(peerName: id)
        } catch {
            throw CollaborationError(error)
        }
        contacts[id] = nil
        contactDials.contactRemoved(id)
        contactDeadlineMoved()
        contactLastSeen[id] = nil
        contactKeys[id] = nil
        logger.info("Contact removed", metadata: ["contact": "\(id)"])
        announce(.contactRemoved(id))
        peerChanged(id, [.contact])
        invitationsFollowContacts(of: id)
        contactListChanged(id)
    }

    /// The contact's card, as I know it: what I would pass on to someone else.
    public func contactCard(of id: String) throws -> String {
        let record = try existingContact(id)
        let name = (try? ContactCard.validateDisplayName(record.displayName)) != nil ? record.displayName : id
        let email = record.email.isEmpty || (try? ContactCard.validateEmail(record.email)) == nil ? nil : record.email
        return ContactCard(
            displayName: name, email: email, peerName: id, certificateDER: record.certificateDER, endpoints: record.endpoints
        ).encode()
    }

    /// Sets my own name for the contact ("" removes it); same limits as a display name.
    public func setNickname(_ id: String, _ nickname: String) throws {
        var record = try existingContact(id)
        if !nickname.isEmpty {
            _ = try DisplayName.validated(nickname, what: "nickname")
            if let bad = nickname.unicodeScalars.first(where: ContactCard.isForbiddenInName) {
                throw CollaborationError.invalidArgument(
                    "The nickname contains \(bad.codePointDescription), which could hide or reorder what is shown; remove it.")
            }
        }
        guard record.nickname != nickname else { return }
        record.nickname = nickname
        try saveContactRecord(record)
    }

    /// Marks the contact's key as checked (verification code compared) or not.
    public func setVerified(_ id: String, _ verified: Bool) throws {
        var record = try existingContact(id)
        guard record.verified != verified else { return }
        record.verified = verified
        try saveContactRecord(record)
    }

    /// Whether the contact may see my presence and objects beyond the subnet.
    public func setSubscribeAllowed(_ id: String, _ allowed: Bool) throws {
        var record = try existingContact(id)
        guard record.subscribeAllowed != allowed else { return }
        record.subscribeAllowed = allowed
        try saveContactRecord(record)
        contactListChanged(id)
    }

    /// Whether I follow the contact's presence and objects.
    public func setSubscribed(_ id: String, _ subscribed: Bool) throws {
        var record = try existingContact(id)
        guard record.subscribed != subscribed else { return }
        record.subscribed = subscribed
        try saveContactRecord(record)
        contactListChanged(id)
    }

    /// Adds an address where the contact listens (idempotent), up to ``ContactCard/maximumEndpoints``.
    public func addEndpoint(_ id: String, host: String, port: UInt16) throws {
        var record = try existingContact(id)
        let endpoint = ContactEndpoint(host: host, port: port)
        do {
            try endpoint.validate()
        } catch {
            throw CollaborationError.invalidArgument("The endpoint is not usable: \(error.message)")
        }
        guard !record.endpoints.contains(endpoint) else { return }
        guard record.endpoints.count < ContactCard.maximumEndpoints else {
            throw CollaborationError.invalidArgument(
                "The contact already has \(record.endpoints.count) endpoints, the most allowed; remove one first.")
        }
        record.endpoints.append(endpoint)
        try saveContactRecord(record)
        contactNeedsDial(id)
    }

    /// Removes an address of the contact.
    public func removeEndpoint(_ id: String, host: String, port: UInt16) throws {
        var record = try existingContact(id)
        let endpoint = ContactEndpoint(host: host, port: port)
        guard let index = record.endpoints.firstIndex(of: endpoint) else {
            throw CollaborationError.notFound("The contact has no endpoint \(endpoint).")
        }
        record.endpoints.remove(at: index)
        try saveContactRecord(record)
    }

    /// Asks a connected contact for its profile again; else, when signed in to the internet
    /// scope, dials its endpoints now and returns once connected (or says why not).
    public func refreshContact(_ id: String) async throws {
        let record = try existingContact(id)
        if linkRegistry.linkID(ofPeer: id) != nil {
            try refreshPeer(id)
            return
        }
        guard signedIn.contains(.internet) else {
            throw CollaborationError(
                .notSignedIn, "The contact is not connected, and reaching contacts at their endpoints needs SignIn(\"internet\").")
        }
        guard !record.endpoints.isEmpty else {
            throw CollaborationError(.peerUnreachable, "The contact has no endpoint to dial; add one with AddEndpoint.")
        }
        try await dialContactNow(id)
    }

    func existingContact(_ id: String) throws -> ContactRecord {
        guard let record = contacts[id] else {
            throw CollaborationError.notFound("There is no contact \(id).")
        }
        return record
    }

    /// Stores a changed contact, then takes it in and announces what differs.
    func saveContactRecord(_ record: ContactRecord) throws {
        do {
            try database.saveContact(record)
        } catch {
            throw CollaborationError(error)
        }
        let before = contacts[record.peerName]
        contacts[record.peerName] = record
        var changed: Set<ContactField> = []
        if before?.displayName != record.displayName { changed.insert(.displayName) }
        if before?.nickname != record.nickname { changed.insert(.nickname) }
        if before?.email != record.email { changed.insert(.email) }
        if before?.certificateDER != record.certificateDER { changed.insert(.fingerprint) }
        if before?.verified != record.verified { changed.insert(.verified) }
        if before?.subscribeAllowed != record.subscribeAllowed { changed.insert(.subscribeAllowed) }
        if before?.subscribed != record.subscribed { changed.insert(.subscribed) }
        if before?.endpoints != record.endpoints { changed.insert(.endpoints) }
        if !changed.isEmpty { announce(.contactChanged(record.peerName, changed)) }
    }

    /// Tells the presence rules that who may see what changed (presence owns the rules).
    private func contactListChanged(_ id: String) {
        contactPermissionsChanged(id)
    }

    // MARK: Keys and peers

    /// Whether a peer that just authenticated may be shown: a peer whose name is a contact's
    /// must hold the contact's pinned key.
    ///
    /// A peer name is the first 160 bits of SHA-256 over the key (PeerName.init(publicKeyDER:)),
    /// and `PeerAuthenticated.peerName` is derived from the key the peer proved in TLS, never
    /// from what it claims. So equal names mean equal keys unless someone found a second
    /// preimage of a 160-bit truncated SHA-256; comparing the keys themselves makes that
    /// exact at no cost. A peer showing a contact's display name with another key has
    /// another name and is simply not that contact.
    func contactKeyMatches(_ peer: PeerAuthenticated) -> Bool {
        guard let record = contacts[peer.peerName.description] else { return true }
        guard let pinned = contactKey(record) else { return false }
        return pinned.publicKeyDER == peer.certificate.publicKeyDER
    }

    // MARK: A contact mirrors its peer

    /// Its peer was shown: the contact shows it online with its presence, applications and
    /// objects; only what differs from the offline contact is signalled.
    func contactMirrorsPeerArriving(_ id: String) {
        guard let record = contacts[id], var before = details(of: record), let after = contact(id) else { return }
        before.peer = nil
        before.lastSeen = contactLastSeen[id] ?? 0
        contactLastSeen[id] = peers[id]?.lastSeen
        let fields = after.fields(differingFrom: before)
        if !fields.isEmpty { announce(.contactChanged(id, fields)) }
    }

    /// Parts of its peer changed: the same parts of the contact did.
    func contactMirrorsPeerChange(_ id: String, _ fields: Set<PeerField>) {
        guard contacts[id] != nil else { return }
        if let seen = peers[id]?.lastSeen { contactLastSeen[id] = seen }
        let mapped = Set(fields.compactMap(Self.contactProperty(for:)))
        if !mapped.isEmpty { announce(.contactChanged(id, mapped)) }
    }

    /// Its peer, shown as `peer`, left: the contact is offline again.
    func contactMirrorsPeerLeaving(_ id: String, _ peer: RemotePeer) {
        guard contacts[id] != nil, let after = contact(id) else { return }
        var before = after
        before.peer = peer
        before.lastSeen = peer.lastSeen
        let fields = after.fields(differingFrom: before)
        if !fields.isEmpty { announce(.contactChanged(id, fields)) }
    }

    private static func contactProperty(for property: PeerField) -> ContactField? {
        switch property {
        case .displayName: .displayName
        case .presenceStatus: .presenceStatus
        case .presenceMessage: .presenceMessage
        case .applications: .applications
        case .objects: .objects
        case .lastSeen: .lastSeen
        case .addresses, .scope, .contact: nil
        }
    }
}
