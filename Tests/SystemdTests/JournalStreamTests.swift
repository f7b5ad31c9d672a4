import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@Suite struct JournalStreamTests {
    @Test func parsesDeviceAndInode() throws {
        let parsed = try #require(JournalStream.parse("2049:1234567"))
        #expect(parsed.device == 2049 && parsed.inode == 1_234_567)
        let largest = try #require(JournalStream.parse("18446744073709551615:0"))
        #expect(largest.device == .max && largest.inode == 0)
    }

    @Test(arguments: [
        "", ":", "1:", ":1", "1:2:3", "a:b", "-1:2", "+1:2", "1:2 ", " 1:2", "1:0x2", "18446744073709551616:1", "1;2",
        "1:2\n", "١:٢",
    ])
    func rejectsAnythingButTwoDecimalNumbers(value: String) {
        #expect(JournalStream.parse(value) == nil)
    }

    @Test func matchesOnlyTheDescriptorItNames() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory, files: ["a", "b"]) }
        let first = open(directory + "/a", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        let second = open(directory + "/b", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        defer { close(first); close(second) }
        try #require(first >= 0 && second >= 0)
        var status = stat()
        try #require(fstat(first, &status) == 0)
        let value = "\(status.st_dev):\(status.st_ino)"
        #expect(JournalStream.matches(value, descriptor: first))
        #expect(!JournalStream.matches(value, descriptor: second))
        #expect(!JournalStream.matches("\(status.st_dev):\(status.st_ino + 1)", descriptor: first))
        #expect(!JournalStream.matches("\(status.st_dev + 1):\(status.st_ino)", descriptor: first))
        #expect(!JournalStream.matches(value, descriptor: -1))
        #expect(!JournalStream.matches("garbage", descriptor: first))
    }
}
