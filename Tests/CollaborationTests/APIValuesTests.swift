import Collaboration
import PeerCollabAPI
import Testing

/// The values clients check before they call (PeerCollabAPI) are the ones the domain
/// enforces: neither can drift alone.
@Suite struct APIValuesTests {
    @Test func presenceStatusesAreTheDomainsNamesInOrder() {
        #expect(APIValues.presenceStatuses == PresenceRules.statusNames)
    }

    @Test func scopesAreTheDomainsScopesAndAll() {
        #expect(Set(APIValues.scopes) == Set(Scope.allCases.map(\.rawValue) + ["all"]))
    }

    @Test func objectLimitsAreTheDomainsLimits() {
        #expect(APIValues.maximumObjects == PresenceRules.maximumObjects)
        #expect(APIValues.maximumObjectBytes == PresenceRules.maximumObjectBytes)
        #expect(APIValues.maximumObjectIDBytes == PresenceRules.maximumObjectIDBytes)
    }
}
