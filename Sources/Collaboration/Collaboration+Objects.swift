import NIOCore
import PeerProtocol

/// Data objects: the ones I publish (stored, listed in my profile to those who may see me,
/// changes pushed to them), and fetching peers' objects over the channel.
extension Collaboration {
    /// My `GetObject` requests under way on one link at most.
    public nonisolated static let maximumObjectFetchesPerLink = 16
    /// How long a peer has to answer an object request.
    public nonisolated static let objectFetchTimeout: Duration = .seconds(10)

    /// The ids of the objects I publish, sorted.
    public var publishedObjectIDs: [String] { publishedObjects.keys.sorted() }

    /// Publishes (or replaces) object `id`: at most 128 objects of at most 64 KiB each. Returns
    /// after it is on disk; then peers who may see me are told.
    public func setObject(id: String, data: [UInt8]) throws {
        try PresenceRules.checkObjectID(id)
        guard data.count <= PresenceRules.maximumObjectBytes else {
            throw CollaborationError.invalidArgument(
                "The object '\(id)' is \(data.count) bytes; at most \(PresenceRules.maximumObjectBytes) (64 KiB) are allowed.")
        }
        let existing = publishedObjects[id]
        guard existing != nil || publishedObjects.count < PresenceRules.maximumObjects else {
            throw CollaborationError.invalidArgument(
                "\(PresenceRules.maximumObjects) objects are published already, the most allowed; delete one first.")
        }
        // Microseconds since the epoch, and always more than before: a peer's cached copy
        // of an object deleted and published again is never taken for the new one.
        let now = Self.microsecondsSinceEpoch()
        let revision = max(now, (existing?.revision ?? 0) + 1)
        let record = ObjectRecord(id: id, revision: revision, data: data, updated: now)
        do {
            try database.saveObject(record)
        } catch {
            throw CollaborationError(error)
        }
        publishedObjects[id] = record
        announce(.managerChanged([.objects]))
        sendToFollowers(.objectChanged(ObjectChange(objectID: id, kind: .updated(revision: revision, size: UInt32(data.count)))))
    }

    /// Stops publishing object `id`; returns after it is gone from disk.
    public func deleteObject(id: String) throws {
        try PresenceRules.checkObjectID(id)
        guard publishedObjects[id] != nil else {
            throw CollaborationError.notFound("No object '\(id)' is published.")
        }
        do {
            try database.deleteObject(id: id)
        } catch {
            throw CollaborationError(error)
        }
        publishedObjects[id] = nil
        announce(.managerChanged([.objects]))
        sendToFollowers(.objectChanged(ObjectChange(objectID: id, kind: .deleted)))
    }

    /// The data of my own object `id`.
    public func publishedObject(id: String) throws -> [UInt8] {
        guard let object = publishedObjects[id] else { throw CollaborationError.notFound("No object '\(id)' is published.") }
        return object.data
    }

    /// Fetches object `objectID` from the connected peer `id` (Peer.GetObject, and
    /// Contact.GetObject for a connected contact). A copy fetched before is returned when
    /// the peer still lists the same revision.
    public func object(ofPeer id: String, objectID: String) async throws -> [UInt8] {
        try PresenceRules.checkObjectID(objectID)
        guard let linkID = linkRegistry.linkID(ofPeer: id), let link = linkRegistry.link(linkID), let peer = peers[id] else {
            throw CollaborationError(.peerUnreachable, "The peer \(id) is not connected now.")
        }
        guard link.capabilities.contains(.objects) else {
            throw CollaborationError(.notSupported, "The peer \(id) runs software that does not serve objects; it would have to update.")
        }
        if let listed = peer.profile?.objects.first(where: { $0.id == objectID }),
            let data = objectFetches.cached(peer: id, object: objectID, revision: listed.revision)
        {
            return data
        }
        guard objectFetches.pending.outstanding(on: linkID) < objectFetches.pending.perLink else {
            throw CollaborationError(
                .rateLimited, "\(Self.maximumObjectFetchesPerLink) object requests to \(id) are under way already; try again when they are answered.")
        }
        return try await withCheckedThrowingContinuation { continuation in
            let waiter = ObjectFetches.Pending(peerID: id, objectID: objectID, continuation: continuation)
            guard let requestID = objectFetches.pending.start(on: linkID, waiter: waiter) else {
                continuation.resume(throwing: CollaborationError(.rateLimited, "Too many object requests to \(id) are under way; try again when they are answered."))
                return
            }
            schedule(.objectFetch(requestID), after: Self.objectFetchTimeout)
            link.send(.objectRequest(ObjectRequest(requestID: requestID, objectID: objectID)))
        }
    }

    func objectFetchTimedOut(_ requestID: UInt32) {
        guard let pending = objectFetches.pending.take(requestID) else { return }
        logger.notice("A peer did not answer an object request", metadata: ["peer": "\(pending.peerID)", "object": "\(pending.objectID)"])
        pending.continuation.resume(throwing: CollaborationError(
            .timeout, "\(pending.peerID) did not send the object '\(pending.objectID)' within \(Self.objectFetchTimeout)."))
    }

    func failObjectFetches(on linkID: Int) {
        for (requestID, pending) in objectFetches.pending.takeAll(on: linkID) {
            cancelDeadline(.objectFetch(requestID))
            pending.continuation.resume(throwing: CollaborationError(
                .peerUnreachable, "The connection to \(pending.peerID) closed before it sent the object '\(pending.objectID)'."))
        }
        if let id = linkRegistry.peer(ofLink: linkID) { objectFetches.forget(peer: id) }
    }

    // MARK: From peers

    /// A peer asks for one of my objects: it gets it only if it may see me.
    func objectRequested(_ linkID: Int, _ request: ObjectRequest) {
        guard let link = linkRegistry.link(linkID) else { return }
        let result: ObjectResponse.Result
        if !maySeeMe(linkID) || !link.capabilities.contains(.objects) {
            result = .notAllowed
        } else if let object = publishedObjects[request.objectID] {
            result = .found(revision: object.revision, data: ByteBuffer(bytes: object.data))
        } else {
            result = .notFound
        }
        link.send(.objectResponse(ObjectResponse(requestID: request.requestID, result: result)))
    }

    /// The answer to one of my requests.
    func objectResponseReceived(_ linkID: Int, _ response: ObjectResponse) {
        guard let pending = objectFetches.pending.answered(response.requestID, on: linkID) else { return }
        cancelDeadline(.objectFetch(response.requestID))
        switch response.result {
        case .found(let revision, let buffer):
            let data = Array(buffer.readableBytesView)
            objectFetches.store(peer: pending.peerID, object: pending.objectID, revision: revision, data: data)
            pending.continuation.resume(returning: data)
        case .notFound:
            pending.continuation.resume(throwing: CollaborationError.notFound("\(pending.peerID) publishes no object '\(pending.objectID)'."))
        case .notAllowed:
            pending.continuation.resume(throwing: CollaborationError(
                .notAllowed, "\(pending.peerID) does not let you see its objects; ask them to allow you, and subscribe to them."))
        }
    }

    /// A peer's object changed or went away: its `Objects` list follows.
    func objectChangeReceived(_ linkID: Int, _ change: ObjectChange) {
        guard let id = linkRegistry.peer(ofLink: linkID), var peer = peers[id], var profile = peer.profile else { return }
        guard admitPushed(linkID) else {
            linkSubscriptions[linkID]?.needsProfile = true
            return
        }
        let index = profile.objects.firstIndex { $0.id == change.objectID }
        switch change.kind {
        case .updated(let revision, let size):
            let object = PublishedObject(id: change.objectID, revision: revision, size: size)
            if let index {
                profile.objects[index] = object
            } else {
                guard profile.objects.count < PeerProtocolLimits.objectsMaximumCount else {
                    logger.notice("A peer announced more objects than allowed; ignoring one", metadata: ["peer": "\(id)"])
                    return
                }
                profile.objects.append(object)
            }
        case .deleted:
            guard let index else { return }
            profile.objects.remove(at: index)
            objectFetches.forget(peer: id, object: change.objectID)
        }
        peer.profile = profile
        peer.lastSeen = Self.microsecondsSinceEpoch()
        peers[id] = peer
        peerChanged(id, [.objects, .lastSeen])
    }
}
