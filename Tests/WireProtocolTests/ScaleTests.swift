import XCTest
@testable import WireProtocol

final class ScaleTests: XCTestCase {
    private func encoded(_ body: (inout ScaleEncoder) -> Void) -> [UInt8] {
        var encoder = ScaleEncoder()
        body(&encoder)
        return encoder.bytes
    }

    func testFixedWidthIntegersAreLittleEndian() throws {
        XCTAssertEqual(encoded { $0.write(UInt8(0xab)) }, [0xab])
        XCTAssertEqual(encoded { $0.write(UInt16(0x0102)) }, [0x02, 0x01])
        XCTAssertEqual(encoded { $0.write(UInt32(0x0102_0304)) }, [0x04, 0x03, 0x02, 0x01])
        XCTAssertEqual(encoded { $0.write(UInt64(0x0102_0304_0506_0708)) },
                       [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01])
        XCTAssertEqual(encoded { $0.write(Int32(-2)) }, [0xfe, 0xff, 0xff, 0xff])

        var decoder = ScaleDecoder(bytes("0201 04030201 0807060504030201 feffffff"))
        XCTAssertEqual(try decoder.read(UInt16.self, "a"), 0x0102)
        XCTAssertEqual(try decoder.read(UInt32.self, "b"), 0x0102_0304)
        XCTAssertEqual(try decoder.read(UInt64.self, "c"), 0x0102_0304_0506_0708)
        XCTAssertEqual(try decoder.read(Int32.self, "d"), -2)
        XCTAssertTrue(decoder.isAtEnd)
    }

    func testTruncatedIntegerReportsFieldAndOffset() {
        var decoder = ScaleDecoder(bytes("01 0203"))
        XCTAssertEqual(try? decoder.read(UInt8.self, "tag"), 1)
        assertThrows(.truncated(what: "x.gas", offset: 1, needed: 4, available: 2)) {
            () throws(WireError) in try decoder.read(UInt32.self, "x.gas")
        }
    }

    func testBool() {
        XCTAssertEqual(encoded { $0.writeBool(true); $0.writeBool(false) }, [1, 0])
        var decoder = ScaleDecoder([1, 0, 2])
        XCTAssertEqual(try? decoder.readBool("a"), true)
        XCTAssertEqual(try? decoder.readBool("b"), false)
        assertThrows(.invalidBool(what: "c", offset: 2, byte: 2)) { () throws(WireError) in
            try decoder.readBool("c")
        }
    }

    /// Boundaries of every compact mode, checked against the well-known parity-scale-codec
    /// encodings.
    func testCompactEncodingsAtModeBoundaries() throws {
        let cases: [(UInt64, String)] = [
            (0, "00"), (1, "04"), (42, "a8"), (63, "fc"),
            (64, "0101"), (69, "1501"), (16383, "fdff"),
            (16384, "02000100"), (1 << 30 - 1, "feffffff"),
            (1 << 30, "0300000040"), (UInt64(UInt32.max), "03ffffffff"),
            (1 << 32, "070000000001"), (1 << 40, "0b000000000001"),
            (1 << 48, "0f00000000000001"), (1 << 56, "130000000000000001"),
            (UInt64.max, "13ffffffffffffffff"),
        ]
        for (value, expected) in cases {
            let encoding = encoded { $0.writeCompact(value) }
            XCTAssertEqual(hex(encoding), expected, "encode \(value)")
            var decoder = ScaleDecoder(encoding)
            XCTAssertEqual(try decoder.readCompact("n"), value, "decode \(expected)")
            XCTAssertTrue(decoder.isAtEnd)
        }
    }

    func testCompactRejectsNonCanonicalForms() {
        let nonCanonical = [
            "0100",             // 0 in two-byte mode
            "fd00",             // 63 in two-byte mode
            "02000000",         // 0 in four-byte mode
            "feff0000",         // 16383 in four-byte mode
            "03ffffff3f",       // 2^30 - 1 in big mode
            "0300000000",       // 0 in big mode
            "07ffffffff00",     // 2^32 - 1 in 5 bytes
            "13ffffffffffffff00",  // 2^56 - 1 in 8 bytes
            "17ffffffffffffffff00",  // u64::MAX padded to 9 bytes
        ]
        for text in nonCanonical {
            var decoder = ScaleDecoder(bytes("aa" + text))
            _ = try? decoder.read(UInt8.self, "pad")
            assertThrows(.nonCanonicalCompact(what: "n", offset: 1)) { () throws(WireError) in
                try decoder.readCompact("n")
            }
        }
    }

    func testCompactBeyondSixtyFourBitsIsOutOfRange() {
        var decoder = ScaleDecoder(bytes("17 000000000000000001"))
        assertThrows(.compactOutOfRange(what: "n", offset: 0)) { () throws(WireError) in
            try decoder.readCompact("n")
        }
        var narrow = ScaleDecoder(bytes("070000000001"))
        assertThrows(.compactOutOfRange(what: "n", offset: 0)) { () throws(WireError) in
            try narrow.readCompactU32("n")
        }
        var fits = ScaleDecoder(bytes("03ffffffff"))
        XCTAssertEqual(try? fits.readCompactU32("n"), UInt32.max)
    }

    func testCompactTruncation() {
        for text in ["", "01", "020000", "03ffffff", "13ffffffffffffff"] {
            var decoder = ScaleDecoder(bytes(text))
            assertThrowsCode(.truncated) { () throws(WireError) in try decoder.readCompact("n") }
        }
    }

    func testByteVectorLengthIsCheckedBeforeAllocation() {
        // A length of 2^62 - 1 with only 2 bytes behind it.
        var decoder = ScaleDecoder(bytes("13ffffffffffffff3f aabb"))
        assertThrows(.lengthExceedsInput(what: "blob", offset: 0, length: 0x3fff_ffff_ffff_ffff, available: 2)) {
            () throws(WireError) in try decoder.readByteVector("blob")
        }
        var short = ScaleDecoder(bytes("0c aabb"))
        assertThrows(.lengthExceedsInput(what: "blob", offset: 0, length: 3, available: 2)) {
            () throws(WireError) in try short.readByteVector("blob")
        }
        var wide = ScaleDecoder(bytes("08 00000000 00000000"))
        assertThrows(.lengthExceedsInput(what: "regs", offset: 0, length: 2, available: 8)) {
            () throws(WireError) in try wide.readLength("regs", minimumElementSize: 8)
        }
    }

    func testByteVectorAndString() throws {
        let encoding = encoded {
            $0.writeByteVector([1, 2, 3])
            $0.writeString("héllo")
            $0.writeByteVector([UInt8](repeating: 7, count: 100))
        }
        XCTAssertEqual(hex(encoding.prefix(4 + 7)), "0c010203" + "1868c3a96c6c6f")
        XCTAssertEqual(hex(encoding[11..<13]), "9101")
        var decoder = ScaleDecoder(encoding)
        XCTAssertEqual(try decoder.readByteVector("a"), [1, 2, 3])
        XCTAssertEqual(try decoder.readString("b"), "héllo")
        XCTAssertEqual(try decoder.readByteVector("c"), [UInt8](repeating: 7, count: 100))
        XCTAssertNoThrow(try decoder.finish("all"))
    }

    func testStringMustBeUTF8() {
        var decoder = ScaleDecoder(bytes("00 08 c328"))
        _ = try? decoder.read(UInt8.self, "pad")
        assertThrows(.invalidUTF8(what: "name", offset: 1)) { () throws(WireError) in
            try decoder.readString("name")
        }
    }

    func testOption() throws {
        XCTAssertEqual(hex(encoded { $0.writeOption(nil) }), "00")
        XCTAssertEqual(hex(encoded { $0.writeOption(UInt64(2000)) }), "01d007000000000000")
        var decoder = ScaleDecoder(bytes("00 01d007000000000000 02"))
        XCTAssertNil(try decoder.readOptionalU64("a"))
        XCTAssertEqual(try decoder.readOptionalU64("b"), 2000)
        assertThrows(.invalidOptionTag(what: "c", offset: 10, byte: 2)) { () throws(WireError) in
            try decoder.readOptionalU64("c")
        }
    }

    func testDecodeRejectsTrailingBytes() {
        assertThrows(.trailingBytes(what: "Priority", offset: 1, count: 2)) { () throws(WireError) in
            try Priority.decode([2, 0, 0])
        }
    }

    func testSliceOffsetsAreRelative() {
        let backing: [UInt8] = [9, 9, 9, 0x05]
        var decoder = ScaleDecoder(backing[3...])
        assertThrows(.unknownTag(what: "Priority", offset: 0, tag: 5)) { () throws(WireError) in
            try decoder.read(Priority.self)
        }
        XCTAssertEqual(try? Priority.decode(backing[3...].dropLast() + [1]), .approval)
    }

    func testErrorDescriptionsNameFieldAndOffset() {
        let error = WireError.truncated(what: "ValidateCandidate.input", offset: 17, needed: 4, available: 1)
        XCTAssertEqual(error.description, "ValidateCandidate.input at offset 17: truncated, needs 4 bytes, 1 left")
        XCTAssertEqual(WireError.unknownTag(what: "Verdict", offset: 9, tag: 0xee).description,
                       "Verdict at offset 9: unknown tag 0xee")
    }
}
