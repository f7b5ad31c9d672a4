import Logging
import NIOCore
import Synchronization

/// Connections dropped before or during their session, logged so that a flood cannot drown
/// the journal (it rate-limits a unit, and every other message of the daemon would go with
/// it): in each 10 s window the first drop is logged whole, the others are counted, and one
/// line sums them up when the window ends.
final class DropLog: Sendable {
    static let window: TimeAmount = .seconds(10)
    /// Distinct addresses counted per window; past it only the count grows.
    static let maximumAddresses = 4096

    private struct Window {
        var count = 0
        var addresses: Set<String> = []
    }

    private let logger: Logger
    private let current = Mutex<Window?>(nil)

    init(logger: Logger) {
        self.logger = logger
    }

    /// A connection from `address` was dropped; `line` says why, in full.
    func dropped(_ line: @autoclosure () -> Logger.Message, address: String, metadata: Logger.Metadata, on eventLoop: any EventLoop) {
        let opensWindow = current.withLock { window -> Bool in
            guard var open = window else {
                window = Window()
                return true
            }
            open.count += 1
            if open.addresses.count < Self.maximumAddresses { open.addresses.insert(address) }
            window = open
            return false
        }
        guard opensWindow else { return }
        logger.notice(line(), metadata: metadata.merging(["address": "\(address)"]) { $1 })
        eventLoop.scheduleTask(in: Self.window) { [self] in self.closeWindow() }
    }

    private func closeWindow() {
        guard let closed = current.withLock({ window -> Window? in
            defer { window = nil }
            return window
        }), closed.count > 0 else { return }
        logger.warning(
            "Dropped \(closed.count) more peer connections from \(closed.addresses.count)\(closed.addresses.count == Self.maximumAddresses ? " or more" : "") addresses in the last 10 s",
            metadata: ["dropped": "\(closed.count)", "addresses": "\(closed.addresses.count)"])
    }
}
