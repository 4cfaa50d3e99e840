import PVM
import XCTest

final class CodecTests: XCTestCase {
    func testNaturalEncodingBoundaries() throws {
        let cases: [(UInt64, [UInt8])] = [
            (0, [0]), (1, [1]), (127, [127]), (128, [0x80, 0x80]), (0x3FFF, [0xBF, 0xFF]),
            (0x4000, [0xC0, 0x00, 0x40]), (1 << 21, [0xE0, 0x00, 0x00, 0x20]),
            (UInt64(1) << 56 - 1, [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            (UInt64(1) << 56, [0xFF, 0, 0, 0, 0, 0, 0, 0, 1]),
            (UInt64.max, [0xFF] + [UInt8](repeating: 0xFF, count: 8)),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(encodeNatural(value), bytes, "encode \(value)")
            var r = ByteReader(bytes)
            XCTAssertEqual(try r.readNatural("x"), value, "decode \(bytes)")
            XCTAssertTrue(r.isAtEnd)
        }
    }

    func testNaturalRoundTripsAcrossAllLengths() throws {
        var x: UInt64 = 1
        for _ in 0..<64 {
            for v in [x &- 1, x, x &+ 1] {
                var r = ByteReader(encodeNatural(v))
                XCTAssertEqual(try r.readNatural("x"), v)
            }
            x = x << 1
        }
    }

    func testTruncatedNaturalNamesFieldAndOffset() {
        var r = ByteReader([0x00, 0xC0, 0x01])
        _ = try? r.readFixed(1, "pad")
        XCTAssertThrowsError(try r.readNatural("code length")) { error in
            let e = error as! ProgramError
            XCTAssertEqual(e.kind, .truncated)
            XCTAssertEqual(e.field, "code length")
            XCTAssertEqual(e.offset, 1)
        }
    }

    func testBlobEncodeDecodeRoundTrip() throws {
        let blob = ProgramBlob(jumpTable: [0, 3, 300], code: [1, 51, 0x07, 0x2A, 0, 0, 0, 0, 0, 0],
                               bitmask: [true, true, false, false, true, true, true, true, true, true])
        XCTAssertEqual(try ProgramBlob(decoding: blob.encoded()), blob)
    }
}
