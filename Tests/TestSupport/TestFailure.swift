/// A failure a helper reports in words: what a lab command said, what never happened in time.
/// Tests and helpers throw it so that the test fails with that sentence rather than a code.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
