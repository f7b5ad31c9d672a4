import NIOCore

/// The life of one peer session, without I/O: hello with a deadline, the established session
/// with its request limits and keepalives, and closing.
///
/// Each event is a `mutating` call that returns what the owner must do (``Action``); the
/// owner (``PeerSessionHandler``, or a test) performs it. Time comes in as arguments, so
/// tests need no clock. Calling an event before ``start(now:)`` is a programming error and traps.
public struct PeerSessionStateMachine: Sendable {
    /// What the owner must do after an event.
    public enum Action: Hashable, Sendable {
        /// Nothing.
        case none
        /// Send this message to the peer.
        case write(PeerMessage)
        /// Hand this message to the application.
        case deliver(PeerMessage)
        /// The hellos agreed: tell the application.
        case sessionEstablished(PeerSessionParameters)
        /// The peer said goodbye: hand it to the application, then close without answering.
        case deliverGoodbyeAndClose(PeerGoodbye)
        /// Send `goodbye` (when there is one), then close; report `error` (when there is one) in the log.
        case close(goodbye: PeerGoodbye?, error: PeerProtocolError?)
    }

    /// Whether the application may send a message now.
    public enum SendDecision: Hashable, Sendable {
        /// Encode and send it.
        case write
        /// Send it, then close: it was a goodbye.
        case writeThenClose
        /// Do not send it; fail the write with this error.
        case reject(PeerProtocolError)
    }

    private struct Established {
        var parameters: PeerSessionParameters
        var lastReceived: NIODeadline
        var lastPingSent: NIODeadline?
        /// Set by ``probe(now:within:)``: anything received before it clears it.
        var probeDeadline: NIODeadline?
        var probeTimeout: TimeAmount = .zero
        /// A keepalive went unanswered for an interval; cleared by anything received.
        var isStale = false
        var nextNonce: UInt64
        var localRequests: Set<UInt32> = []
        var remoteRequests: Set<UInt32> = []
    }

    private enum State {
        case notStarted
        case awaitingHello(deadline: NIODeadline)
        case established(Established)
        case closing
        case closed
    }

    private var state: State = .notStarted
    /// This side's hello, sent first.
    public let localHello: PeerHello
    /// The session's limits.
    public let configuration: PeerSessionConfiguration

    /// Makes a machine that has not started; call ``start(now:)`` when the connection opens.
    public init(localHello: PeerHello, configuration: PeerSessionConfiguration = PeerSessionConfiguration()) {
        self.localHello = localHello
        self.configuration = configuration
    }

    /// A name for the current state, for logs and error messages.
    public var stateName: String {
        switch state {
        case .notStarted: "not started"
        case .awaitingHello: "awaiting hello"
        case .established: "established"
        case .closing: "closing"
        case .closed: "closed"
        }
    }

    /// Whether ``start(now:)`` was called.
    public var hasStarted: Bool {
        if case .notStarted = state { return false }
        return true
    }

    /// The negotiated parameters once established, nil before and after.
    public var parameters: PeerSessionParameters? {
        if case .established(let established) = state { return established.parameters }
        return nil
    }

    /// Whether the session is over or going: no more messages are exchanged.
    public var isClosingOrClosed: Bool {
        switch state {
        case .closing, .closed: true
        default: false
        }
    }

    /// Object requests sent and not yet answered.
    public var localRequestsInFlight: Int {
        if case .established(let established) = state { return established.localRequests.count }
        return 0
    }

    /// Object requests received and not yet answered.
    public var remoteRequestsInFlight: Int {
        if case .established(let established) = state { return established.remoteRequests.count }
        return 0
    }

    /// Whether the established peer missed a keepalive and has not been heard since.
    public var isPeerStale: Bool {
        if case .established(let established) = state { return established.isStale }
        return false
    }

    /// When ``deadlinePassed(now:)`` must next be called, or nil when no timer is needed.
    public var nextDeadline: NIODeadline? {
        switch state {
        case .awaitingHello(let deadline):
            return deadline
        case .established(let established):
            let idleDeadline = established.lastReceived + configuration.idleTimeout
            let quietSince = max(established.lastReceived, established.lastPingSent ?? established.lastReceived)
            let next = min(idleDeadline, quietSince + configuration.keepaliveInterval)
            return established.probeDeadline.map { min($0, next) } ?? next
        case .notStarted, .closing, .closed:
            return nil
        }
    }

    /// The connection is open: send the hello and start the hello deadline.
    public mutating func start(now: NIODeadline) -> Action {
        guard case .notStarted = state else { preconditionFailure("session started twice (state: \(stateName))") }
        state = .awaitingHello(deadline: now + configuration.helloTimeout)
        return .write(.hello(localHello))
    }

    /// A message (or a skipped unknown frame) arrived from the peer.
    public mutating func received(_ inbound: PeerInboundMessage, now: NIODeadline) -> Action {
        switch state {
        case .notStarted:
            preconditionFailure("message received before the session started")
        case .closing, .closed:
            return .none
        case .awaitingHello:
            switch inbound {
            case .unknown:
                return .none
            case .message(.goodbye(let goodbye)):
                state = .closed
                return .deliverGoodbyeAndClose(goodbye)
            case .message(.hello(let hello)):
                do {
                    let parameters = try PeerSessionParameters.negotiate(local: localHello, remote: hello)
                    state = .established(Established(parameters: parameters, lastReceived: now, nextNonce: UInt64.random(in: .min ... .max)))
                    return .sessionEstablished(parameters)
                } catch {
                    return fail(error)
                }
            case .message(let message):
                return fail(.unexpectedMessage("\(message.type)", state: "awaiting the peer's hello"))
            }
        case .established(var established):
            established.lastReceived = now
            established.probeDeadline = nil
            established.isStale = false
            let action: Action
            switch inbound {
            case .unknown:
                action = .none
            case .message(let message):
                switch message {
                case .hello:
                    return fail(.unexpectedMessage("a second hello", state: "established"))
                case .goodbye(let goodbye):
                    state = .closed
                    return .deliverGoodbyeAndClose(goodbye)
                case .ping(let nonce):
                    action = .write(.pong(nonce: nonce))
                case .pong:
                    action = .none
                case .objectRequest(let request):
                    guard established.remoteRequests.count < configuration.maximumRequestsInFlight else {
                        return fail(.limitExceeded("object requests in flight", actual: established.remoteRequests.count + 1, limit: configuration.maximumRequestsInFlight))
                    }
                    guard established.remoteRequests.insert(request.requestID).inserted else {
                        return fail(.malformed("object request", "request id \(request.requestID) is already in flight"))
                    }
                    action = .deliver(message)
                case .objectResponse(let response):
                    guard established.localRequests.remove(response.requestID) != nil else {
                        return fail(.unexpectedMessage("an object response to unknown request \(response.requestID)", state: "established"))
                    }
                    action = .deliver(message)
                case .listeningPort, .profile, .profileRequest, .presenceUpdate, .subscription, .objectChanged, .invitation,
                    .invitationResponse, .invitationCancel, .channelOpen, .channelData, .channelWindow, .channelEOF, .channelClose:
                    action = .deliver(message)
                }
            }
            state = .established(established)
            return action
        }
    }

    /// The application wants to send `message`: may it, and what follows?
    ///
    /// Hello and keepalives belong to the machine and are rejected here; everything but a
    /// goodbye waits for the session to be established.
    public mutating func willSend(_ message: PeerMessage) -> SendDecision {
        switch (state, message) {
        case (.notStarted, _):
            preconditionFailure("message sent before the session started")
        case (.closing, _), (.closed, _):
            return .reject(.unexpectedMessage("\(message.type)", state: stateName))
        case (_, .hello), (_, .ping), (_, .pong):
            return .reject(.unexpectedMessage("\(message.type) from the application", state: "\(stateName); the session sends it itself"))
        case (_, .goodbye):
            state = .closing
            return .writeThenClose
        case (.awaitingHello, _):
            return .reject(.unexpectedMessage("\(message.type)", state: "awaiting the peer's hello; wait for the session to be established"))
        case (.established(var established), _):
            switch message {
            case .objectRequest(let request):
                guard established.localRequests.count < configuration.maximumRequestsInFlight else {
                    return .reject(.limitExceeded("object requests in flight", actual: established.localRequests.count + 1, limit: configuration.maximumRequestsInFlight))
                }
                guard established.localRequests.insert(request.requestID).inserted else {
                    return .reject(.malformed("object request", "request id \(request.requestID) is already in flight; pick another"))
                }
            case .objectResponse(let response):
                guard established.remoteRequests.remove(response.requestID) != nil else {
                    return .reject(.unexpectedMessage("an object response to unknown request \(response.requestID)", state: "established"))
                }
            default:
                break
            }
            state = .established(established)
            return .write
        }
    }

    /// The timer set for ``nextDeadline`` fired (or any time after it): drop a late or silent
    /// peer, or send a keepalive.
    public mutating func deadlinePassed(now: NIODeadline) -> Action {
        switch state {
        case .notStarted:
            preconditionFailure("timer fired before the session started")
        case .closing, .closed:
            return .none
        case .awaitingHello(let deadline):
            guard now >= deadline else { return .none }
            return fail(.helloTimeout(seconds: configuration.helloTimeout.nanoseconds / 1_000_000_000))
        case .established(var established):
            if let probe = established.probeDeadline, now >= probe {
                return fail(.probeTimeout(milliseconds: established.probeTimeout.nanoseconds / 1_000_000))
            }
            if now >= established.lastReceived + configuration.idleTimeout {
                return fail(.idleTimeout(seconds: configuration.idleTimeout.nanoseconds / 1_000_000_000))
            }
            let quietSince = max(established.lastReceived, established.lastPingSent ?? established.lastReceived)
            guard now >= quietSince + configuration.keepaliveInterval else { return .none }
            if let sent = established.lastPingSent, sent > established.lastReceived {
                // The last ping is a whole interval old and nothing came back.
                established.isStale = true
            }
            let nonce = established.nextNonce
            established.nextNonce &+= 1
            established.lastPingSent = now
            state = .established(established)
            return .write(.ping(nonce: nonce))
        }
    }

    /// Pings the peer now and closes the session if nothing at all arrives within `within`
    /// (an earlier probe's deadline stands if it is sooner). Only an established session is
    /// probed; otherwise nothing happens.
    public mutating func probe(now: NIODeadline, within: TimeAmount) -> Action {
        guard case .established(var established) = state else { return .none }
        let deadline = now + within
        if established.probeDeadline.map({ deadline < $0 }) ?? true {
            established.probeDeadline = deadline
            established.probeTimeout = within
        }
        let nonce = established.nextNonce
        established.nextNonce &+= 1
        established.lastPingSent = now
        state = .established(established)
        return .write(.ping(nonce: nonce))
    }

    /// A decoder or the handler met `error`: say goodbye with a matching reason and close.
    public mutating func errorCaught(_ error: PeerProtocolError) -> Action {
        switch state {
        case .notStarted, .awaitingHello, .established:
            return fail(error)
        case .closing, .closed:
            return .none
        }
    }

    /// The application closes the session with a goodbye.
    public mutating func close(_ goodbye: PeerGoodbye) -> Action {
        switch state {
        case .notStarted, .closing, .closed:
            state = .closed
            return .close(goodbye: nil, error: nil)
        case .awaitingHello, .established:
            state = .closing
            return .close(goodbye: goodbye, error: nil)
        }
    }

    /// The connection is gone.
    public mutating func channelClosed() {
        state = .closed
    }

    private mutating func fail(_ error: PeerProtocolError) -> Action {
        state = .closing
        let reason: GoodbyeReason =
            switch error.code {
            case .versionMismatch: .versionMismatch
            case .helloTimeout, .idleTimeout: .timeout
            default: .protocolError
            }
        return .close(goodbye: PeerGoodbye(reason: reason, message: Self.truncatedUTF8(error.message)), error: error)
    }

    /// Cuts `text` to the goodbye message limit on a character boundary.
    private static func truncatedUTF8(_ text: String) -> String {
        let limit = PeerProtocolLimits.goodbyeMessageMaximumBytes
        guard text.utf8.count > limit else { return text }
        var result = ""
        var length = 0
        for character in text {
            let size = character.utf8.count
            guard length + size <= limit else { break }
            result.append(character)
            length += size
        }
        return result
    }
}
