/// How clients learn that a property changed (D-Bus's `EmitsChangedSignal` annotation).
public enum PropertyChange: Sendable {
    /// `PropertiesChanged` carries the new value.
    case emitsValue
    /// Never changes while the object exists.
    case constant
}

/// What every interface's property table offers: the D-Bus name is the raw value.
public protocol APIProperty: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == String {
    /// Whether and how a change is signalled.
    var change: PropertyChange { get }
}
