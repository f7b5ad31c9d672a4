import CSQLite

/// One open SQLite database: the smallest wrapper the store needs over the C API, with
/// statements cached by their SQL text. Not thread-safe: the ``Collaboration`` actor owns it
/// and is the only one to touch it.
final class SQLiteDatabase {
    let path: String
    private let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    /// Told of every write transaction's outcome, when set.
    var writeFailures: StoreWriteFailures?

    /// Opens (creating if needed) the database at `path`, readable by the owner only.
    init(path: String) throws(StoreError) {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(handle)
            throw StoreError(status: status, path: path, doing: "open the database", reason: reason)
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        // Another process holding the file (a second daemon, the sqlite3 tool) briefly.
        sqlite3_busy_timeout(handle, 2_000)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs SQL that returns no rows (pragmas, DDL, transaction control).
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let reason = message.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(message)
            throw StoreError(status: status, path: path, doing: "run \(sql.prefix(60))", reason: reason)
        }
    }

    /// A prepared statement for `sql`, reset and ready to bind; cached for reuse.
    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard status == SQLITE_OK, let raw else {
            throw StoreError(status: status, path: path, doing: "prepare \(sql.prefix(60))", reason: errorMessage)
        }
        let statement = SQLiteStatement(raw, database: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in one write transaction: all of it is on disk when this returns, or none
    /// of it is if anything throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        do throws(StoreError) {
            try execute("BEGIN IMMEDIATE")
            do throws(StoreError) {
                let result = try body()
                try execute("COMMIT")
                writeFailures?.succeeded()
                return result
            } catch {
                try? execute("ROLLBACK")
                throw error
            }
        } catch {
            writeFailures?.failed(error.message)
            throw error
        }
    }

    /// A single integer from a pragma or query (`PRAGMA user_version`).
    func integer(_ sql: String) throws(StoreError) -> Int64 {
        let statement = try statement(sql)
        // A statement left on a row holds a read transaction open; let go at once.
        defer { statement.reset() }
        guard try statement.step() else { return 0 }
        return statement.integer(0)
    }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(handle)) }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A prepared statement: bind by position (1-based, as SQLite counts), step, read columns
/// (0-based).
final class SQLiteStatement {
    private let raw: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(_ raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
    }

    deinit { sqlite3_finalize(raw) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    @discardableResult
    func bind(_ values: SQLiteValue...) throws(StoreError) -> SQLiteStatement {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number): status = sqlite3_bind_int64(raw, index, number)
            case .text(let text):
                status = text.utf8CString.withUnsafeBufferPointer {
                    pc_sqlite3_bind_text_copy(raw, index, $0.baseAddress, Int32($0.count - 1))
                }
            case .blob(let bytes):
                status = bytes.withUnsafeBytes {
                    // A zero-length blob still needs a non-null pointer to stay a blob, not NULL.
                    pc_sqlite3_bind_blob_copy(raw, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count))
                }
            case .null: status = sqlite3_bind_null(raw, index)
            }
            guard status == SQLITE_OK else {
                throw StoreError(status: status, path: database.path, doing: "bind a value", reason: database.errorMessage)
            }
        }
        return self
    }

    /// Advances to the next row; false when there is none (or the statement wrote).
    func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(raw)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let reason = database.errorMessage
            sqlite3_reset(raw)
            throw StoreError(status: status, path: database.path, doing: "run a statement", reason: reason)
        }
    }

    /// Steps a statement that writes, to completion.
    func run() throws(StoreError) {
        while try step() {}
    }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(raw, column) else { return "" }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null

    static func bool(_ value: Bool) -> Self { .integer(value ? 1 : 0) }
    static func unsigned(_ value: UInt64) -> Self { .integer(Int64(bitPattern: value)) }
}
