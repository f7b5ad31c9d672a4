import NIOCore

/// A data object a peer publishes, as listed in its profile: enough to know whether a
/// cached copy is current and how big a fetch will be, without the data.
public struct PublishedObject: Hashable, Sendable {
    /// The object's id: `[A-Za-z0-9._-]`, 1–128 bytes.
    public var id: String
    /// Grows each time the publisher changes the object.
    public var revision: UInt64
    /// Bytes of data, at most 64 KiB.
    public var size: UInt32

    /// Makes an object summary.
    public init(id: String, revision: UInt64, size: UInt32) {
        self.id = id
        self.revision = revision
        self.size = size
    }
}

/// What a peer shows of itself: name, presence, the applications it offers and the
/// objects it publishes. Sent after the hello and whenever any of it changes.
public struct PeerProfile: Hashable, Sendable {
    /// The name others see: 1–128 Unicode scalars, no control characters.
    public var displayName: String
    /// Status and message.
    public var presence: PeerPresence
    /// Reverse-DNS application ids (`org.example.Whiteboard`), at most 64, no duplicates.
    public var applicationIDs: [String]
    /// Published objects, at most 128, ids unique.
    public var objects: [PublishedObject]

    /// Makes a profile.
    public init(displayName: String, presence: PeerPresence, applicationIDs: [String] = [], objects: [PublishedObject] = []) {
        self.displayName = displayName
        self.presence = presence
        self.applicationIDs = applicationIDs
        self.objects = objects
    }
}

extension PublishedObject: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let id = try reader.readString("object id", maximumBytes: PeerProtocolLimits.objectIDMaximumBytes)
        try WireRules.checkObjectID(id)
        let revision = try reader.readUInt64("object revision")
        let size = try reader.readUInt32("object size")
        guard size <= PeerProtocolLimits.objectDataMaximumBytes else {
            throw .limitExceeded("object size", actual: Int(size), limit: PeerProtocolLimits.objectDataMaximumBytes)
        }
        self.init(id: id, revision: revision, size: size)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkObjectID(id)
        guard size <= PeerProtocolLimits.objectDataMaximumBytes else {
            throw .limitExceeded("object size", actual: Int(size), limit: PeerProtocolLimits.objectDataMaximumBytes)
        }
        buffer.writeWireString(id)
        buffer.writeInteger(revision, endianness: .big)
        buffer.writeInteger(size, endianness: .big)
    }
}

extension PeerProfile: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let name = try reader.readString(
            "display name",
            maximumBytes: PeerProtocolLimits.displayNameMaximumScalars * 4
        )
        try WireRules.checkDisplayName(name)
        let presence = try PeerPresence(reading: &reader)

        let applicationCount = try reader.readCount("applications", limit: PeerProtocolLimits.applicationsMaximumCount)
        var applicationIDs: [String] = []
        applicationIDs.reserveCapacity(applicationCount)
        var seenApplications = Set<String>()
        for _ in 0..<applicationCount {
            let id = try reader.readString("application id", maximumBytes: PeerProtocolLimits.applicationIDMaximumBytes)
            try WireRules.checkApplicationID(id)
            guard seenApplications.insert(id).inserted else { throw .malformed("applications", "\"\(id)\" appears twice") }
            applicationIDs.append(id)
        }

        let objectCount = try reader.readCount("objects", limit: PeerProtocolLimits.objectsMaximumCount)
        var objects: [PublishedObject] = []
        objects.reserveCapacity(objectCount)
        var seenObjects = Set<String>()
        for _ in 0..<objectCount {
            let object = try PublishedObject(reading: &reader)
            guard seenObjects.insert(object.id).inserted else { throw .malformed("objects", "\"\(object.id)\" appears twice") }
            objects.append(object)
        }
        self.init(displayName: name, presence: presence, applicationIDs: applicationIDs, objects: objects)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkDisplayName(displayName)
        guard applicationIDs.count <= PeerProtocolLimits.applicationsMaximumCount else {
            throw .limitExceeded("applications count", actual: applicationIDs.count, limit: PeerProtocolLimits.applicationsMaximumCount)
        }
        guard Set(applicationIDs).count == applicationIDs.count else { throw .malformed("applications", "an id appears twice") }
        for id in applicationIDs { try WireRules.checkApplicationID(id) }
        guard objects.count <= PeerProtocolLimits.objectsMaximumCount else {
            throw .limitExceeded("objects count", actual: objects.count, limit: PeerProtocolLimits.objectsMaximumCount)
        }
        guard Set(objects.map(\.id)).count == objects.count else { throw .malformed("objects", "an id appears twice") }

        buffer.writeWireString(displayName)
        try presence.write(to: &buffer)
        buffer.writeInteger(UInt16(applicationIDs.count), endianness: .big)
        for id in applicationIDs { buffer.writeWireString(id) }
        buffer.writeInteger(UInt16(objects.count), endianness: .big)
        for object in objects { try object.write(to: &buffer) }
    }
}
