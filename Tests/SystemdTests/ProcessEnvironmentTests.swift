import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tests that change the process environment or fd 2, which every thread shares: they run
/// one at a time, and each restores what it changed.
@Suite(.serialized)
struct ProcessEnvironmentTests {}

/// Runs `body` with the environment variables set (or, for nil, unset), then restores them.
func withEnvironment<T>(
    _ variables: [String: String?],
    _ body: () async throws -> T
) async throws -> T {
    // One environment for the whole test process: tests that change it take turns, or one
    // test's NOTIFY_SOCKET receives another's READY=1 when they run side by side.
    await EnvironmentTurns.shared.begin()
    var saved: [String: String?] = [:]
    for (name, value) in variables {
        saved[name] = getenv(name).map { String(cString: $0) }
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
    func restore() {
        for (name, value) in saved {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
    do {
        let result = try await body()
        restore()
        await EnvironmentTurns.shared.end()
        return result
    } catch {
        restore()
        await EnvironmentTurns.shared.end()
        throw error
    }
}

/// Turns at the process environment, first come first served.
private actor EnvironmentTurns {
    static let shared = EnvironmentTurns()
    private var taken = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func begin() async {
        guard taken else {
            taken = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func end() {
        if waiting.isEmpty { taken = false } else { waiting.removeFirst().resume() }
    }
}

/// A fresh private directory under /tmp, removed with its files by `removeTemporaryDirectory`.
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/systemd-tests.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw TestFailure("mkdtemp failed: errno \(errno)") }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

func removeTemporaryDirectory(_ path: String, files: [String]) {
    for file in files { unlink(path + "/" + file) }
    rmdir(path)
}

/// A precondition of a test that did not hold.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
