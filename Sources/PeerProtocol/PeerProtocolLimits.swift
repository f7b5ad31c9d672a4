/// The field limits every peer enforces on what it sends and what it receives (docs/protocol.md, "Limits").
///
/// These are part of the wire contract, so they are constants, not settings: a peer that
/// raised one would send messages others reject. Limits on time and on frames are in
/// ``PeerSessionConfiguration``.
public enum PeerProtocolLimits {
    /// The protocol versions this build speaks.
    public static let supportedVersions: ClosedRange<UInt16> = 1...1
    /// Default and recommended maximum frame length (the bytes after the length field).
    public static let defaultMaximumFrameLength = 256 * 1024
    /// The smallest maximum frame length a peer may configure: the largest v1 message fits in it.
    public static let minimumMaximumFrameLength = 80 * 1024

    /// Display name: at least this many Unicode scalars.
    public static let displayNameMinimumScalars = 1
    /// Display name: at most this many Unicode scalars (so at most 512 bytes of UTF-8).
    public static let displayNameMaximumScalars = 128
    /// Presence message: at most this many bytes of UTF-8.
    public static let presenceMessageMaximumBytes = 1024
    /// Application ids in a profile.
    public static let applicationsMaximumCount = 64
    /// Application id: reverse-DNS, at most this many bytes.
    public static let applicationIDMaximumBytes = 255
    /// Objects in a profile.
    public static let objectsMaximumCount = 128
    /// Object id: `[A-Za-z0-9._-]`, at most this many bytes.
    public static let objectIDMaximumBytes = 128
    /// Object data: at most this many bytes.
    public static let objectDataMaximumBytes = 64 * 1024
    /// Invitation id: `[A-Za-z0-9_-]`, at most this many bytes.
    public static let invitationIDMaximumBytes = 64
    /// Invitation message: at most this many bytes of UTF-8.
    public static let invitationMessageMaximumBytes = 1024
    /// Invitation data: at most this many bytes.
    public static let invitationDataMaximumBytes = 64 * 1024
    /// The reason of an invitation response: at most this many bytes of UTF-8.
    public static let invitationReasonMaximumBytes = 256
    /// Invitation timeout, in seconds.
    public static let invitationTimeoutSeconds: ClosedRange<UInt32> = 1...3600
    /// Capabilities in a hello.
    public static let capabilitiesMaximumCount = 32
    /// Capability name: `[a-z0-9._-]`, at most this many bytes.
    public static let capabilityMaximumBytes = 64
    /// Software version in a hello: printable UTF-8, at most this many bytes.
    public static let softwareVersionMaximumBytes = 64
    /// Goodbye text: UTF-8, at most this many bytes.
    public static let goodbyeMessageMaximumBytes = 256

    /// Channel name: 1–128 bytes of UTF-8, no control characters.
    public static let channelNameMaximumBytes = 128
    /// One chunk of channel data on the wire.
    public static let channelChunkMaximumBytes = 16 * 1024
    /// The chunk a sender cuts: with its frame's 16 bytes of framing it fills one TLS
    /// record (16,384 bytes of plaintext) exactly, so each chunk costs one record to seal
    /// and arrives whole in one `SSL_read`, where a 16 KiB chunk would need a second,
    /// 16-byte record and a copy to join the halves.
    public static let channelChunkFillingOneRecordBytes = 16 * 1024 - PeerFrame.headerLength - 8  // 8: channel id and length
    /// The receive window each side lends when a channel opens.
    public static let channelInitialWindowBytes = 256 * 1024
    /// The largest a receive window may grow (window updates never lend more).
    public static let channelWindowMaximumBytes = 16 * 1024 * 1024
    /// Channels on one link, both directions and every invitation together.
    public static let channelsPerLinkMaximum = 64
    /// Channels of one invitation.
    public static let channelsPerInvitationMaximum = 16
    /// Opens one side sent that the other has not answered with its own.
    public static let channelUnansweredOpensMaximum = 16
    /// Receive windows one side lends on one link, in total: the most it ever buffers.
    public static let channelBufferedBytesPerLinkMaximum = 32 * 1024 * 1024
}
