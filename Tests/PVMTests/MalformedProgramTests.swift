import PVM
import XCTest

/// A corpus of malformed blobs and standard programs. Each must be rejected with the exact error
/// kind, field and byte offset, without trapping and without allocating for declared sizes.
final class MalformedProgramTests: XCTestCase {
    struct Case {
        let name: String
        let bytes: [UInt8]
        let kind: ProgramError.Kind
        let field: String
        let offset: Int
    }

    /// A valid 1-instruction blob (`trap`), for embedding in standard programs.
    static let trapBlob: [UInt8] = [0, 0, 1, 0, 1]

    static func standard(ro: Int = 0, rw: Int = 0, heap: Int = 0, stack: Int = 0, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        encodeFixed(UInt64(ro), width: 3, into: &out)
        encodeFixed(UInt64(rw), width: 3, into: &out)
        encodeFixed(UInt64(heap), width: 2, into: &out)
        encodeFixed(UInt64(stack), width: 3, into: &out)
        return out + body
    }

    static func withBlob(_ blob: [UInt8], declared: Int? = nil, trailing: [UInt8] = []) -> [UInt8] {
        var body: [UInt8] = []
        encodeFixed(UInt64(declared ?? blob.count), width: 4, into: &body)
        return standard(body: body + blob + trailing)
    }

    static let blobCases: [Case] = [
        Case(name: "empty", bytes: [], kind: .truncated, field: "jump table length", offset: 0),
        Case(name: "no entry size", bytes: [0], kind: .truncated, field: "jump table entry size", offset: 1),
        Case(name: "no code length", bytes: [0, 0], kind: .truncated, field: "code length", offset: 2),
        Case(name: "truncated 2-byte natural", bytes: [0x80], kind: .truncated, field: "jump table length", offset: 0),
        Case(name: "truncated 9-byte natural", bytes: [0xFF, 1, 2, 3], kind: .truncated, field: "jump table length", offset: 0),
        Case(name: "truncated code length", bytes: [0, 0, 0xC0, 0x01], kind: .truncated, field: "code length", offset: 2),
        Case(name: "entry size 5", bytes: [1, 5, 1, 0, 0, 0, 0, 0, 0, 1], kind: .jumpTableEntrySize, field: "jump table entry size", offset: 1),
        Case(name: "entry size 255", bytes: [0, 255, 1, 0, 1], kind: .jumpTableEntrySize, field: "jump table entry size", offset: 1),
        Case(name: "code past end", bytes: [0, 0, 5], kind: .lengthPastEnd, field: "code", offset: 3),
        Case(name: "bitmask missing", bytes: [0, 0, 2, 0, 0], kind: .lengthPastEnd, field: "bitmask", offset: 3),
        Case(name: "jump table past end", bytes: [2, 1, 1, 7], kind: .lengthPastEnd, field: "jump table", offset: 3),
        Case(name: "trailing byte", bytes: [0, 0, 1, 0, 1, 0xFF], kind: .trailingBytes, field: "end of blob", offset: 5),
        Case(name: "padding bit set", bytes: [0, 0, 1, 0, 0x03], kind: .bitmaskPadding, field: "bitmask", offset: 4),
        Case(name: "padding bit set, second mask byte", bytes: [0, 0, 9] + [UInt8](repeating: 0, count: 9) + [0xFF, 0x03],
             kind: .bitmaskPadding, field: "bitmask", offset: 13),
        Case(name: "absurd jump table length", bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 4, 0],
             kind: .limitExceeded, field: "jump table length", offset: 0),
        Case(name: "absurd code length", bytes: [0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0x0F],
             kind: .limitExceeded, field: "code length", offset: 2),
        Case(name: "large table, few bytes", bytes: [0xE0, 0x00, 0x00, 0x10, 4, 0],
             kind: .lengthPastEnd, field: "jump table", offset: 6),
        Case(name: "code length off by one", bytes: [0, 0, 3, 0, 1], kind: .lengthPastEnd, field: "code", offset: 3),
    ]

    static let standardCases: [Case] = [
        Case(name: "empty program", bytes: [], kind: .truncated, field: "read-only data length", offset: 0),
        Case(name: "no rw length", bytes: [0, 0, 0, 0], kind: .truncated, field: "read-write data length", offset: 3),
        Case(name: "no heap pages", bytes: [0, 0, 0, 0, 0, 0, 0], kind: .truncated, field: "extra heap pages", offset: 6),
        Case(name: "no stack size", bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0], kind: .truncated, field: "stack size", offset: 8),
        Case(name: "ro data past end", bytes: standard(ro: 100, body: [1, 2, 3]), kind: .lengthPastEnd, field: "read-only data", offset: 11),
        Case(name: "rw data past end", bytes: standard(ro: 1, rw: 50, body: [9, 1]), kind: .lengthPastEnd, field: "read-write data", offset: 12),
        Case(name: "no code length", bytes: standard(body: [0, 0]), kind: .truncated, field: "code blob length", offset: 11),
        Case(name: "code blob past end", bytes: withBlob(trapBlob, declared: 9), kind: .lengthPastEnd, field: "code blob", offset: 11),
        Case(name: "bytes after code blob", bytes: withBlob(trapBlob, trailing: [0]), kind: .trailingBytes, field: "end of program", offset: 20),
        Case(name: "empty code blob", bytes: withBlob([]), kind: .truncated, field: "jump table length", offset: 15),
        Case(name: "bad entry size inside program", bytes: withBlob([0, 9, 1, 0, 1]), kind: .jumpTableEntrySize, field: "jump table entry size", offset: 16),
        Case(name: "padding inside program", bytes: withBlob([0, 0, 1, 0, 0x81]), kind: .bitmaskPadding, field: "bitmask", offset: 19),
        Case(name: "trailing inside blob", bytes: withBlob([0, 0, 1, 0, 1, 0]), kind: .trailingBytes, field: "end of blob", offset: 20),
        Case(name: "memory over the limit", bytes: standard(heap: 0xFFFF, stack: 0xFFFFFF, body: []),
             kind: .limitExceeded, field: "header", offset: 0),
    ]

    func check(_ c: Case, _ decode: ([UInt8]) throws(ProgramError) -> Void) {
        do {
            try decode(c.bytes)
            XCTFail("\(c.name): accepted")
        } catch {
            XCTAssertEqual(error.kind, c.kind, "\(c.name): \(error)")
            XCTAssertEqual(error.field, c.field, "\(c.name): \(error)")
            XCTAssertEqual(error.offset, c.offset, "\(c.name): \(error)")
            XCTAssertFalse(error.description.isEmpty)
        }
    }

    func testMalformedBlobs() {
        for c in Self.blobCases { check(c) { b throws(ProgramError) in _ = try ProgramBlob(decoding: b) } }
    }

    func testMalformedStandardPrograms() {
        let limits = ProgramLimits(maxGuestMemory: 64 << 20)
        for c in Self.standardCases {
            check(c) { b throws(ProgramError) in _ = try StandardProgram(decoding: b, limits: limits) }
        }
    }

    func testCorpusIsLargeEnough() {
        XCTAssertGreaterThanOrEqual(Self.blobCases.count + Self.standardCases.count, 30)
    }

    func testStackOverTheConfiguredCap() {
        let bytes = Self.withBlob(Self.trapBlob)
        var withStack = bytes
        withStack[8] = 0x00; withStack[9] = 0x00; withStack[10] = 0x02   // 128 KiB stack
        check(Case(name: "stack cap", bytes: withStack, kind: .limitExceeded, field: "stack size", offset: 8)) {
            b throws(ProgramError) in _ = try StandardProgram(decoding: b, limits: ProgramLimits(maxStackSize: 64 << 10))
        }
        XCTAssertNoThrow(try StandardProgram(decoding: withStack))
    }

    func testLayoutBoundIsTheGraypapersFormula() {
        XCTAssertTrue(GuestMemoryLayout.fits(readOnly: 0, readWrite: 0, heapPages: 0, stack: 0))
        // 5·Z_Z + Z_I leaves exactly 2^32 − 327,680 − 2^24 for the three regions.
        let room: UInt64 = (1 << 32) - 5 * (1 << 16) - (1 << 24)
        XCTAssertTrue(GuestMemoryLayout.fits(readOnly: room, readWrite: 0, heapPages: 0, stack: 0))
        XCTAssertFalse(GuestMemoryLayout.fits(readOnly: room + 1, readWrite: 0, heapPages: 0, stack: 0))
        XCTAssertFalse(GuestMemoryLayout.fits(readOnly: room / 2, readWrite: room / 2, heapPages: 0, stack: 1))
    }

    func testValidEdgeCasesAreAccepted() throws {
        // Jump-table entry sizes 0 to 4 are all valid.
        for z in 0...4 {
            var bytes: [UInt8] = [2, UInt8(z), 1]
            bytes += [UInt8](repeating: 0, count: 2 * z)
            bytes += [0, 1]
            let blob = try ProgramBlob(decoding: bytes)
            XCTAssertEqual(blob.jumpTable, [0, 0], "z = \(z)")
        }
        // An empty code section decodes (and executes as trap).
        XCTAssertEqual(try ProgramBlob(decoding: [0, 0, 0]).code, [])
    }
}
