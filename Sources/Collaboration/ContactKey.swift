import PeerSecurity

/// A contact's pinned certificate, parsed, and the verification code it gives with my key:
/// computed once per contact when first asked for (GetManagedObjects asks for every one).
struct ContactKey: Sendable {
    let certificate: PeerCertificate
    let verificationCode: VerificationCode
}
