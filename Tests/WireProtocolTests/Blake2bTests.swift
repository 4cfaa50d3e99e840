import XCTest
@testable import WireProtocol

final class Blake2bTests: XCTestCase {
    /// RFC 7693, Appendix A: BLAKE2b-512("abc").
    func testRFC7693AbcVector() {
        XCTAssertEqual(
            hex(Blake2b.hash(Array("abc".utf8), digestLength: 64)),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
                + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    func testBlake2b256KnownVectors() {
        XCTAssertEqual(hex(Blake2b.hash([UInt8]())),
                       "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        XCTAssertEqual(hex(Blake2b.hash(Array("abc".utf8))),
                       "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
        XCTAssertEqual(hex(Blake2b.hash(Array("The quick brown fox jumps over the lazy dog".utf8))),
                       "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9")
        XCTAssertEqual(hex(Blake2b.hash(Array("The quick brown fox jumps over the lazy dog".utf8), digestLength: 64)),
                       "a8add4bdddfd93e4877d2746e62817b116364a1fa7bc148d95090bc7333b3673"
                           + "f82401cf7aa2e4cb1ecd90296e3f14cb5413f8ed77be73045b13914cdcd6a918")
    }

    /// Lengths around the 128-byte block boundary (where the last-block rule matters);
    /// expected values from an independent implementation (Python hashlib).
    func testBlockBoundaries() {
        let expected: [(Int, String)] = [
            (1, "e88bd757ad5b9bedf372d8d3f0cf6c962a469db61a265f6418e1ffed86da29ec"),
            (63, "a69e023685fa5f19fca13acc02142a9cf8450ce5b77966586e0d000c4a4ea942"),
            (64, "586c0dd87616ec042093edc5f87f880d37ca73618e99b03d5850ce9be478721f"),
            (127, "c9ae3859964b35f04c54b36d33cf299d7290ee621005d28e51598a943560aaaa"),
            (128, "f0501d06597880592bc49234eef100ec1ff349058d0e9d9b753504e24af86dd6"),
            (129, "a34a4e1e03c541dfbf3099c4b6c143c022ced65c28bd7e8a10e0a098461aecf0"),
            (255, "f2d64a40e9412a3414161ff6250075225418fd7c271c1123e162e1bca0de9f93"),
            (256, "d93ebb9c802f5630ab22516fd82b6c21bc8bd551d531349b715f046ed11ed871"),
            (257, "4ce481b24d387422d2bc2baa03d1afd55a1327939ff537c71eb9b38709268649"),
            (1000, "d62b6c768ce1afc8367e0498ab2f8e3f7c178c35b1429f14c4604b545d200f52"),
        ]
        for (length, digest) in expected {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
            XCTAssertEqual(hex(Blake2b.hash(data)), digest, "length \(length)")
            // Same digest whatever the split into updates.
            for split in [0, 1, 64, 127, 128, 129].filter({ $0 <= length }) {
                var hasher = Blake2b()
                hasher.update(data[..<split])
                hasher.update(data[split...])
                XCTAssertEqual(hex(hasher.finalize()), digest, "length \(length) split \(split)")
            }
        }
    }

    func testKeyedVectors() {
        // The first entry of the BLAKE2 reference known-answer tests: key 00..3f, empty input.
        let key = (0..<64).map { UInt8($0) }
        XCTAssertEqual(hex(Blake2b(digestLength: 64, key: key).finalize()),
                       "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
                           + "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568")
        var hasher = Blake2b(digestLength: 64, key: key)
        hasher.update((0..<256).map { UInt8($0) })
        XCTAssertEqual(hex(hasher.finalize()),
                       "b72071e096277edebb8ee5134dd3714996307ba3a55aa4733d412abbe28e909e"
                           + "10e57e6fbfb4ef53b3b960518294ff889a90829254412e2a60b85add07a3674f")
        var short = Blake2b(digestLength: 16, key: Array("secret".utf8))
        short.update(Array("abc".utf8))
        XCTAssertEqual(hex(short.finalize()), "b728f0c8cb10089e9c7b3549c0cdea97")
    }

    func testMillionA() {
        var hasher = Blake2b()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        XCTAssertEqual(hex(hasher.finalize()),
                       "0741850f36cba4259628355d1073e24ddb9ca0e1bfac36fd39ae5dc2101e23a4")
    }

    func testBlobHash() {
        let hash = BlobHash.of([1, 2, 3, 4])
        XCTAssertEqual(hash.description, "28517e4cdf6c90798c1a983b03727ca7743c21a3880672429ccfc5bd15ea5f72")
        XCTAssertEqual(BlobHash(hex: hash.description), hash)
        XCTAssertNil(BlobHash(bytes: [1, 2, 3]))
        XCTAssertNil(BlobHash(hex: "zz"))
        XCTAssertEqual(try? BlobHash.decode(hash.encode()), hash)
    }
}
