import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The processes a test started indirectly (a service manager's services), found through
/// /proc so they can be killed when the manager is gone; only parent links and start times
/// are read.
enum ProcessTree {
    /// A process as of one moment: the start time tells it apart from a later one that reuses its PID.
    struct Identity: Hashable {
        let pid: Int32
        let startTime: UInt64
    }

    /// The PID's parent and start time from /proc/PID/stat, nil when it is gone.
    static func stat(_ pid: Int32) -> (parent: Int32, startTime: UInt64)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let nameEnd = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state ppid … with starttime the 22nd field overall, the 20th here.
        let fields = text[text.index(after: nameEnd)...].split(separator: " ")
        guard fields.count > 19, let parent = Int32(fields[1]), let start = UInt64(fields[19]) else { return nil }
        return (parent, start)
    }

    static func identities(of pids: [Int32]) -> [Identity] {
        pids.compactMap { pid in stat(pid).map { Identity(pid: pid, startTime: $0.startTime) } }
    }

    /// Every living descendant of `root`.
    static func descendants(of root: Int32) -> [Identity] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        var children: [Int32: [Identity]] = [:]
        for pid in pids {
            guard let entry = stat(pid) else { continue }
            children[entry.parent, default: []].append(Identity(pid: pid, startTime: entry.startTime))
        }
        var found: [Identity] = []
        var queue = [root]
        while let parent = queue.popLast(), found.count < 10_000 {
            for child in children[parent] ?? [] {
                found.append(child)
                queue.append(child.pid)
            }
        }
        return found
    }

    /// SIGKILLs those of `processes` still alive as the same process.
    static func kill(_ processes: [Identity]) {
        for process in processes where stat(process.pid)?.startTime == process.startTime {
            _ = Glibc.kill(process.pid, SIGKILL)
        }
    }

    /// Whether `pid` is a living process (not a zombie waiting for its parent).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let nameEnd = text.lastIndex(of: ")")
        else { return false }
        let state = text[text.index(after: nameEnd)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
