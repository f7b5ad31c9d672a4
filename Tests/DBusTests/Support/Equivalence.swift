import DBus

#if canImport(Glibc)
import Glibc
#endif

/// Whether `received` is what `sent` becomes after a trip over the bus.
///
/// Stricter than `==` where `==` is too lax (strings compare by their UTF-8 bytes, not by
/// canonical equivalence) and exact where `==` cannot be: doubles compare by bit pattern
/// (NaN, -0.0), descriptors by the file they open (a received descriptor is a new number
/// for the same file). An `ay` may come back in the compact `.bytes` form.
func isEquivalent(_ sent: DBusValue, _ received: DBusValue) -> Bool {
    switch (sent, received) {
    case (.double(let a), .double(let b)):
        return a.bitPattern == b.bitPattern
    case (.string(let a), .string(let b)):
        return Array(a.utf8) == Array(b.utf8)
    case (.unixFD(let a), .unixFD(let b)):
        return sameFile(a.fileDescriptor, b.fileDescriptor)
    case (.bytes, _), (_, .bytes):
        return sent.bytesValue != nil && sent.bytesValue == received.bytesValue
    case (.array(let e1, let a), .array(let e2, let b)):
        return e1 == e2 && a.count == b.count && zip(a, b).allSatisfy(isEquivalent)
    case (.dictionary(let k1, let v1, let a), .dictionary(let k2, let v2, let b)):
        return k1 == k2 && v1 == v2 && a.count == b.count
            && zip(a, b).allSatisfy { isEquivalent($0.key, $1.key) && isEquivalent($0.value, $1.value) }
    case (.structure(let a), .structure(let b)):
        return a.count == b.count && zip(a, b).allSatisfy(isEquivalent)
    case (.variant(let a), .variant(let b)):
        return isEquivalent(a, b)
    default:
        return sent == received
    }
}

/// Whether two descriptors refer to the same open file (same device and inode).
func sameFile(_ a: Int32, _ b: Int32) -> Bool {
    var first = stat()
    var second = stat()
    guard fstat(a, &first) == 0, fstat(b, &second) == 0 else { return false }
    return first.st_dev == second.st_dev && first.st_ino == second.st_ino
}
