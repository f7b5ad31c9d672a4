import Collaboration
import DBus

/// Domain values in their D-Bus shapes.
enum BusValues {
    /// `a(sq)`: host and port pairs.
    static let endpointsSignature = DBusSignature.array(of: .structure([.string, .uint16]))

    static func endpoints(_ endpoints: [ContactEndpoint]) -> DBusValue {
        .array(element: .structure([.string, .uint16]), endpoints.map { .structure([.string($0.host), .uint16($0.port)]) })
    }
}
