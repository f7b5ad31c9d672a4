// Fuzz target: the contact card (vCard 4.0) parser, which reads files from anyone and
// `AddContact` arguments. A card that parses must stay within the limits and survive an
// encode/parse round trip unchanged.
import Collaboration
import FoundationEssentials

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContactCard(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    guard let card = try? ContactCard(parsing: text) else { return 0 }
    precondition(!card.certificateDER.isEmpty, "a card without a certificate parsed")
    precondition(card.endpoints.count <= ContactCard.maximumEndpoints, "too many endpoints parsed")
    precondition(!card.displayName.unicodeScalars.contains { $0.properties.generalCategory == .control }, "control character in a name")
    let encoded = card.encode(revision: Date(timeIntervalSince1970: 0))
    guard let again = try? ContactCard(parsing: encoded) else {
        fatalError("a parsed card does not parse again after encoding:\n\(encoded)")
    }
    precondition(again == card, "card changed in a round trip")
    return 0
}
