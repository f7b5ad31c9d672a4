import Collaboration
import DBus
import PeerCollabAPI

/// The one table from domain errors to the API's error names.
enum ErrorTable {
    static func name(of code: CollaborationError.Code) -> PeerCollabErrorName {
        switch code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .notSignedIn: .notSignedIn
        case .notAllowed: .notAllowed
        case .invalidState: .invalidState
        case .peerUnreachable: .peerUnreachable
        case .notSupported: .notSupported
        case .timeout: .timeout
        case .invalidCard: .invalidCard
        case .rateLimited: .rateLimited
        case .failed: .failed
        }
    }

    static func busError(_ error: CollaborationError) -> DBusError {
        DBusError(name: name(of: error.code).busName, message: error.message)
    }

    /// Runs a handler body, turning domain errors into their bus errors.
    static func translating<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CollaborationError {
            throw busError(error)
        }
    }
}
