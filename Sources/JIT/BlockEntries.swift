import PVM
#if canImport(Glibc)
import Glibc
#endif

/// The code offset of each basic block's entry and the index of its charge record, looked up by
/// the block's pc: the recompiler's map from branch targets to code.
///
/// A table with a slot per code byte would be simplest, but it is four bytes per byte of guest
/// code (4 MB for a 1 MB program), every page of it is touched (there is a block every few
/// dozen bytes), and its lookups miss the caches. Blocks start in pc order during the pass, so
/// instead: one bit per pc says where blocks start, a running count per 64-bit word gives the
/// number of blocks before the word, and the entries are a dense array in pc order. A lookup is
/// the bit test, a `popcnt` of the bits below it and one load: 1.5 bits of index per code byte
/// plus eight bytes per block.
final class BlockEntries {
    /// Bit `p % 64` of word `p / 64` is set when a block starts at pc `p`.
    private let words: UnsafeMutablePointer<UInt64>
    /// For each word with a bit set: the number of blocks at lower pcs.
    private let ranks: UnsafeMutablePointer<UInt32>
    /// Owns `words` and `ranks` (zero-filled).
    private let storage: PageBuffer
    /// The blocks, in pc order, as (entry, record) pairs; `count` of them, room for `capacity`.
    private var entries: UnsafeMutablePointer<UInt32>
    private var capacity: Int
    private(set) var count = 0
    /// The last pc added (blocks must be added in ascending pc order; checked in debug builds,
    /// where the pass is one of the tests of it).
    private var lastPC = -1
    /// The number of code bytes: lookups take pcs below it.
    let codeLength: Int

    init(codeLength n: Int) {
        codeLength = n
        let wordCount = n / 64 + 1
        let rankOffset = wordCount * 8
        storage = PageBuffer(byteCount: rankOffset + wordCount * 4)
        words = storage.base.bindMemory(to: UInt64.self, capacity: wordCount)
        ranks = (storage.base + rankOffset).bindMemory(to: UInt32.self, capacity: wordCount)
        capacity = max(64, n / 16)
        guard let e = malloc(capacity * 8) else { preconditionFailure("out of memory") }
        entries = e.bindMemory(to: UInt32.self, capacity: 2 * capacity)
    }

    deinit { free(entries) }

    /// Records that a block starts at `pc` (greater than every pc added before) with its
    /// entry at code offset `entry` and its charge in the recompiler's record `record`.
    @inline(__always)
    func add(pc: Int, entry: Int, record: Int) {
        assert(pc > lastPC && pc < codeLength, "blocks are added once each, in pc order")
        lastPC = pc
        let w = pc &>> 6
        let bits = words[w]
        // The blocks before this word: all so far but those already in it (no branch).
        ranks[w] = UInt32(truncatingIfNeeded: count &- bits.nonzeroBitCount)
        words[w] = bits | 1 &<< UInt64(pc & 63)
        if _slowPath(count == capacity) { grow() }
        entries[2 &* count] = UInt32(truncatingIfNeeded: entry)
        entries[2 &* count &+ 1] = UInt32(truncatingIfNeeded: record)
        count &+= 1
    }

    @inline(never)
    private func grow() {
        capacity *= 2
        guard let e = realloc(entries, capacity * 8) else { preconditionFailure("out of memory") }
        entries = e.bindMemory(to: UInt32.self, capacity: 2 * capacity)
    }

    /// The position in `entries` of the block that starts at `pc`, or nil when none does
    /// (yet). Any pc is allowed, including negative ones and those past the code.
    @inline(__always)
    private func find(_ pc: Int64) -> Int? {
        guard pc >= 0, pc < Int64(codeLength) else { return nil }
        let p = Int(pc)
        let bits = words[p &>> 6]
        let bit: UInt64 = 1 &<< UInt64(p & 63)
        guard bits & bit != 0 else { return nil }
        return Int(ranks[p &>> 6]) &+ (bits & (bit &- 1)).nonzeroBitCount
    }

    /// The entry of the block that starts at `pc`, or nil when none does (yet).
    @inline(__always)
    func entry(at pc: Int64) -> Int? {
        guard let k = find(pc) else { return nil }
        return Int(entries[2 &* k])
    }

    /// The entry and charge record of the block that starts at `pc`, or nil when none does.
    @inline(__always)
    func block(at pc: Int64) -> (entry: Int, record: Int)? {
        guard let k = find(pc) else { return nil }
        return (Int(entries[2 &* k]), Int(entries[2 &* k &+ 1]))
    }
}
