/// What changed in the domain; the D-Bus layer turns each into signals.
public enum CollaborationEvent: Sendable, Equatable {
    /// Properties of the Manager (the local user) changed.
    case managerChanged(Set<ManagerProperty>)
}

/// The Manager's properties that can change while the daemon runs.
public enum ManagerProperty: String, Sendable, Hashable, CaseIterable {
    case displayName = "DisplayName"
}
