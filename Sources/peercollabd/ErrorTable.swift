import Collaboration
import DBus

/// The one table from domain errors to D-Bus errors.
enum ErrorTable {
    static func busError(_ error: CollaborationError) -> DBusError {
        DBusError(name: BusNames.errorPrefix + error.code.rawValue, message: error.message)
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
