import NIOCore

/// Asks a peer for one of its published objects; answered by an ``ObjectResponse`` with the same request id.
public struct ObjectRequest: Hashable, Sendable {
    /// Chosen by the asker, unique among its requests in flight; the answer carries it back.
    public var requestID: UInt32
    /// The object wanted.
    public var objectID: String

    /// Makes a request.
    public init(requestID: UInt32, objectID: String) {
        self.requestID = requestID
        self.objectID = objectID
    }
}

/// The answer to an ``ObjectRequest``.
public struct ObjectResponse: Hashable, Sendable {
    /// What the publisher could give.
    public enum Result: Hashable, Sendable {
        /// The object at `revision`, with its data (at most 64 KiB).
        case found(revision: UInt64, data: ByteBuffer)
        /// The peer publishes no object of that id.
        case notFound
        /// The peer does not let this asker see its objects.
        case notAllowed
    }

    /// The id of the request this answers.
    public var requestID: UInt32
    /// What the publisher could give.
    public var result: Result

    /// Makes a response.
    public init(requestID: UInt32, result: Result) {
        self.requestID = requestID
        self.result = result
    }
}

/// Tells a subscriber that a published object changed or went away, so it can refetch or drop its copy.
public struct ObjectChange: Hashable, Sendable {
    /// What happened to the object.
    public enum Kind: Hashable, Sendable {
        /// It now has `revision` and `size` bytes.
        case updated(revision: UInt64, size: UInt32)
        /// It is no longer published.
        case deleted
    }

    /// The object.
    public var objectID: String
    /// What happened to it.
    public var kind: Kind

    /// Makes a change notice.
    public init(objectID: String, kind: Kind) {
        self.objectID = objectID
        self.kind = kind
    }
}

extension ObjectRequest: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let requestID = try reader.readUInt32("request id")
        let objectID = try reader.readString("object id", maximumBytes: PeerProtocolLimits.objectIDMaximumBytes)
        try WireRules.checkObjectID(objectID)
        self.init(requestID: requestID, objectID: objectID)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkObjectID(objectID)
        buffer.writeInteger(requestID, endianness: .big)
        buffer.writeWireString(objectID)
    }
}

extension ObjectResponse: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let requestID = try reader.readUInt32("request id")
        let tag = try reader.readUInt8("object response result")
        switch tag {
        case 0:
            let revision = try reader.readUInt64("object revision")
            let data = try reader.readBytes("object data", maximumBytes: PeerProtocolLimits.objectDataMaximumBytes)
            self.init(requestID: requestID, result: .found(revision: revision, data: data))
        case 1:
            self.init(requestID: requestID, result: .notFound)
        case 2:
            self.init(requestID: requestID, result: .notAllowed)
        default:
            throw .malformed("object response result", "\(tag) is not a known result")
        }
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        buffer.writeInteger(requestID, endianness: .big)
        switch result {
        case .found(let revision, let data):
            guard data.readableBytes <= PeerProtocolLimits.objectDataMaximumBytes else {
                throw .limitExceeded("object data length in bytes", actual: data.readableBytes, limit: PeerProtocolLimits.objectDataMaximumBytes)
            }
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(revision, endianness: .big)
            buffer.writeWireBytes(data)
        case .notFound:
            buffer.writeInteger(UInt8(1))
        case .notAllowed:
            buffer.writeInteger(UInt8(2))
        }
    }
}

extension ObjectChange: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let objectID = try reader.readString("object id", maximumBytes: PeerProtocolLimits.objectIDMaximumBytes)
        try WireRules.checkObjectID(objectID)
        let tag = try reader.readUInt8("object change kind")
        switch tag {
        case 0:
            let revision = try reader.readUInt64("object revision")
            let size = try reader.readUInt32("object size")
            guard size <= PeerProtocolLimits.objectDataMaximumBytes else {
                throw .limitExceeded("object size", actual: Int(size), limit: PeerProtocolLimits.objectDataMaximumBytes)
            }
            self.init(objectID: objectID, kind: .updated(revision: revision, size: size))
        case 1:
            self.init(objectID: objectID, kind: .deleted)
        default:
            throw .malformed("object change kind", "\(tag) is not a known kind")
        }
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkObjectID(objectID)
        buffer.writeWireString(objectID)
        switch kind {
        case .updated(let revision, let size):
            guard size <= PeerProtocolLimits.objectDataMaximumBytes else {
                throw .limitExceeded("object size", actual: Int(size), limit: PeerProtocolLimits.objectDataMaximumBytes)
            }
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(revision, endianness: .big)
            buffer.writeInteger(size, endianness: .big)
        case .deleted:
            buffer.writeInteger(UInt8(1))
        }
    }
}
