// BLAKE2b (RFC 7693): 64-bit words, 128-byte blocks, 12 rounds, digests of 1 to 64 bytes,
// optional key of up to 64 bytes. The protocol names code blobs by their BLAKE2b-256 digest
// (unkeyed, 32-byte output).

/// Incremental BLAKE2b hasher.
///
/// ```
/// var hasher = Blake2b(digestLength: 32)
/// hasher.update(part1)
/// hasher.update(part2)
/// let digest = hasher.finalize()
/// ```
public struct Blake2b: Sendable {
    /// Initialization vector (the SHA-512 IV).
    private static let iv: [UInt64] = [
        0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179,
    ]

    /// Message word permutation for each round (rounds 10 and 11 reuse rows 0 and 1).
    private static let sigma: [[Int]] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    ]

    private static let blockSize = 128

    private var state: [UInt64]
    private var block: [UInt8]
    private var blockFill = 0
    /// Total bytes compressed so far (the 128-bit counter t; high word for > 2^64 bytes).
    private var countLow: UInt64 = 0
    private var countHigh: UInt64 = 0
    /// Length of the digest `finalize()` returns.
    public let digestLength: Int

    /// Starts a hash with a digest of `digestLength` bytes (1...64) and an optional key
    /// (0...64 bytes).
    public init(digestLength: Int = 32, key: [UInt8] = []) {
        precondition((1...64).contains(digestLength), "BLAKE2b digest length must be 1...64")
        precondition(key.count <= 64, "BLAKE2b key must be at most 64 bytes")
        self.digestLength = digestLength
        state = Self.iv
        // Parameter block word 0: digest length, key length, fanout 1, depth 1.
        state[0] ^= 0x0101_0000 ^ UInt64(key.count) << 8 ^ UInt64(digestLength)
        block = [UInt8](repeating: 0, count: Self.blockSize)
        if !key.isEmpty {
            update(key)
            blockFill = Self.blockSize  // the key block is padded to a full block
        }
    }

    /// Absorbs more input.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            // The last block is compressed only by finalize(), with the final flag, so a full
            // block is flushed only once more input is known to follow.
            if blockFill == Self.blockSize {
                addToCounter(UInt64(Self.blockSize))
                compress(isLast: false)
                blockFill = 0
            }
            let take = min(Self.blockSize - blockFill, bytes.distance(from: index, to: bytes.endIndex))
            let end = bytes.index(index, offsetBy: take)
            var position = blockFill
            for byte in bytes[index..<end] {
                block[position] = byte
                position += 1
            }
            blockFill = position
            index = end
        }
    }

    /// Finishes the hash and returns the digest of `digestLength` bytes.
    public consuming func finalize() -> [UInt8] {
        addToCounter(UInt64(blockFill))
        for position in blockFill..<Self.blockSize { block[position] = 0 }
        compress(isLast: true)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for word in state {
            for shift in stride(from: 0, to: 64, by: 8) {
                out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return Array(out[0..<digestLength])
    }

    /// One-shot BLAKE2b of `bytes` with a digest of `digestLength` bytes.
    public static func hash(_ bytes: some Collection<UInt8>, digestLength: Int = 32) -> [UInt8] {
        var hasher = Blake2b(digestLength: digestLength)
        hasher.update(bytes)
        return hasher.finalize()
    }

    private mutating func addToCounter(_ amount: UInt64) {
        let (sum, overflow) = countLow.addingReportingOverflow(amount)
        countLow = sum
        if overflow { countHigh &+= 1 }
    }

    private mutating func compress(isLast: Bool) {
        var m = [UInt64](repeating: 0, count: 16)
        for word in 0..<16 {
            var value: UInt64 = 0
            for byte in 0..<8 {
                value |= UInt64(block[word * 8 + byte]) << UInt64(8 * byte)
            }
            m[word] = value
        }
        var v = state + Self.iv
        v[12] ^= countLow
        v[13] ^= countHigh
        if isLast { v[14] = ~v[14] }

        @inline(__always)
        func mix(_ a: Int, _ b: Int, _ c: Int, _ d: Int, _ x: UInt64, _ y: UInt64) {
            v[a] = v[a] &+ v[b] &+ x
            v[d] = (v[d] ^ v[a]).rotatedRight(by: 32)
            v[c] = v[c] &+ v[d]
            v[b] = (v[b] ^ v[c]).rotatedRight(by: 24)
            v[a] = v[a] &+ v[b] &+ y
            v[d] = (v[d] ^ v[a]).rotatedRight(by: 16)
            v[c] = v[c] &+ v[d]
            v[b] = (v[b] ^ v[c]).rotatedRight(by: 63)
        }

        for round in 0..<12 {
            let s = Self.sigma[round]
            mix(0, 4, 8, 12, m[s[0]], m[s[1]])
            mix(1, 5, 9, 13, m[s[2]], m[s[3]])
            mix(2, 6, 10, 14, m[s[4]], m[s[5]])
            mix(3, 7, 11, 15, m[s[6]], m[s[7]])
            mix(0, 5, 10, 15, m[s[8]], m[s[9]])
            mix(1, 6, 11, 12, m[s[10]], m[s[11]])
            mix(2, 7, 8, 13, m[s[12]], m[s[13]])
            mix(3, 4, 9, 14, m[s[14]], m[s[15]])
        }
        for index in 0..<8 {
            state[index] ^= v[index] ^ v[index + 8]
        }
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedRight(by count: UInt64) -> UInt64 {
        (self >> count) | (self << (64 - count))
    }
}
