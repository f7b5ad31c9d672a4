extension Collaboration {
    /// Who may see my presence and objects changed for this peer. The presence rules own
    /// what this does (Collaboration+Subscriptions.swift); until they land it has nothing
    /// to recompute. Delete this file when they do.
    func contactPermissionsChanged(_ peerName: String) {}
}
