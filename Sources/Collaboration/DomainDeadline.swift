/// What each deadline of the domain is for.
enum DomainDeadline: Hashable, Sendable {
    /// An invitation's expiry while pending, then its withdrawal after the retention.
    case invitation(String)
    /// A `GetObject` request the peer has not answered.
    case objectFetch(UInt32)
    /// The end of a second of a link's flood control.
    case floodFlush(linkID: Int)
    /// The next announced peers the near-me rate limit let wait.
    case nearbyDials
    /// The next rounds of dials to contacts that are not connected.
    case contactDials
    /// `Connect` waiting for the profile of the peer it reached.
    case profileWait(token: UInt64)
}
