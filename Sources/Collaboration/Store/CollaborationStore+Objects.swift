/// A data object I publish, as stored.
public struct ObjectRecord: Sendable, Equatable {
    /// `[A-Za-z0-9._-]`, 1–128 bytes.
    public var id: String
    /// Grows with every change, so peers know whether their copy is current.
    public var revision: UInt64
    public var data: [UInt8]
    /// When it last changed (µs since the epoch).
    public var updated: UInt64

    public init(id: String, revision: UInt64, data: [UInt8], updated: UInt64) {
        self.id = id
        self.revision = revision
        self.data = data
        self.updated = updated
    }
}

extension CollaborationStore {
    public func allObjects() throws(StoreError) -> [ObjectRecord] {
        let rows = try database.statement("SELECT id, revision, data, updated FROM objects ORDER BY id")
        var objects: [ObjectRecord] = []
        while try rows.step() {
            objects.append(
                ObjectRecord(
                    id: rows.text(0), revision: UInt64(bitPattern: rows.integer(1)), data: rows.blob(2),
                    updated: UInt64(bitPattern: rows.integer(3))))
        }
        return objects
    }

    /// Inserts or replaces an object, durably.
    public func saveObject(_ object: ObjectRecord) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            try database.statement("INSERT OR REPLACE INTO objects (id, revision, data, updated) VALUES (?, ?, ?, ?)")
                .bind(.text(object.id), .unsigned(object.revision), .blob(object.data), .unsigned(object.updated))
                .run()
        }
    }

    /// Removes an object; returns whether there was one.
    @discardableResult
    public func deleteObject(id: String) throws(StoreError) -> Bool {
        try database.transaction { () throws(StoreError) in
            try database.statement("DELETE FROM objects WHERE id = ?").bind(.text(id)).run()
            return database.changes > 0
        }
    }
}
