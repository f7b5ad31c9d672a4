import CDBus

/// Measures a message's arguments in libdbus's own buffer, without turning them into
/// ``DBusValue``s, and stops counting once they pass a limit.
///
/// Anyone on the bus may send a method call of up to the bus's message limit (128 MiB and
/// more); decoding such a call into Swift values took over a second and hundreds of MiB,
/// during which every other caller waited. The walk costs at most about `limit` bytes of
/// reading, whatever the message's size.
enum DBusArgumentSize {
    /// The size of the arguments in bytes (strings and byte arrays by their length, other
    /// values by their wire size), or some number above `limit` once they pass it.
    static func measure(_ message: DBusMessage, limit: Int) -> Int {
        var iter = DBusMessageIter()
        guard dbus_message_iter_init(message.raw, &iter) != 0 else { return 0 }
        var total = 0
        measure(&iter, into: &total, limit: limit)
        return total
    }

    private static func measure(_ iter: inout DBusMessageIter, into total: inout Int, limit: Int) {
        // Each step adds at least one byte, so the walk ends within `limit` steps.
        repeat {
            guard total <= limit else { return }
            let type = dbus_message_iter_get_arg_type(&iter)
            switch type {
            case DBusMarshal.typeInvalid:
                return
            case DBusMarshal.typeString, DBusMarshal.typeObjectPath, DBusMarshal.typeSignature:
                var text: UnsafePointer<CChar>?
                withUnsafeMutablePointer(to: &text) { dbus_message_iter_get_basic(&iter, $0) }
                // strnlen: never reads further than what would pass the limit.
                total += 1 + (text.map { strnlen($0, limit - total + 1) } ?? 0)
            case DBusMarshal.typeArray:
                var sub = DBusMessageIter()
                dbus_message_iter_recurse(&iter, &sub)
                total += 4
                if dbus_message_iter_get_element_type(&iter) == DBusMarshal.typeByte {
                    var base: UnsafeMutableRawPointer?
                    var count: Int32 = 0
                    dbus_message_iter_get_fixed_array(&sub, &base, &count)
                    total += Int(count)
                } else if dbus_message_iter_get_arg_type(&sub) != DBusMarshal.typeInvalid {
                    measure(&sub, into: &total, limit: limit)
                }
            case DBusMarshal.typeVariant, DBusMarshal.typeStruct, DBusMarshal.typeDictEntry:
                var sub = DBusMessageIter()
                dbus_message_iter_recurse(&iter, &sub)
                total += 1
                measure(&sub, into: &total, limit: limit)
            default:
                total += 8
            }
        } while dbus_message_iter_next(&iter) != 0
    }
}

#if canImport(Glibc)
import Glibc
#endif
