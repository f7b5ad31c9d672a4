import Foundation
import TestSupport

extension ProcessRunner {
    /// The daemon and the command line under test, as this build made them.
    static var daemonPath: String { productsDirectory.appendingPathComponent("peercollabd").path }
    static var ctlPath: String { productsDirectory.appendingPathComponent("peercollabctl").path }
}
