import PVM

// The assembler object and its code buffer.
//
// The buffer is a raw, manually grown page mapping (`PageBuffer`) rather than a `[UInt8]`, so
// that the finished code can be made executable where it was written, without a copy. Every instruction
// first makes sure 16 free bytes are available (no x86 instruction is longer than 15), then
// writes its bytes without further checks. That keeps the per-byte cost to a store and an
// increment, with no uniqueness checks or bounds checks, and no allocation except the
// buffer's growth: in place, by an eighth at a time, within the address space reserved for it
// (`reservingCapacity`), else by doubling into a new buffer (a copy).
//
// The buffer never holds more than `maximumCodeSize` bytes (at most 2 GiB - 1), checked where
// it grows: so every offset fits an Int32 and every rel32 between two offsets reaches, and the
// fields the recompiler patches after the fact (with `patchUInt32`) can never wrap.

/// Emits x86-64 machine code into a growable buffer.
///
/// Instruction methods are named after their Intel mnemonics and take the operand size first,
/// then operands in Intel order (destination first):
///
/// ```swift
/// let a = X86Assembler()
/// let done = a.newLabel()
/// a.sub(.qword, Mem(base: .rdi, disp: 8), imm: 3)   // sub qword [rdi+8], 3
/// a.jcc(.less, done)
/// a.mov(.dword, .rax, Mem(base: .rsi, index: .rcx, scale: .x4))
/// a.bind(done)
/// a.ret()
/// a.finalize()
/// let code = a.bytes
/// ```
///
/// Programmer errors are precondition failures (they trap, in release builds too): an operand
/// the instruction has no encoding for (e.g. `rsp` as an index, a byte-sized `imul`), an
/// immediate that does not fit the operand size, binding a label twice, a rel8 jump whose
/// target is out of reach, `finalize()` with labels still referenced but unbound, and code
/// growing past `maximumCodeSize`.
///
/// The assembler is a reference type so that the recompiler can pass it around freely; it is
/// not thread-safe, so use one per thread.
public final class X86Assembler {
    /// The code buffer (pages of its own). Whoever keeps a reference to it once the code is
    /// finished (e.g. to make it executable in place) must not emit any more.
    public private(set) var buffer: PageBuffer
    /// Start of the code buffer.
    var base: UnsafeMutablePointer<UInt8>
    /// Bytes emitted so far.
    var count: Int
    /// Bytes that may be written (at most `maximumCodeSize`).
    var capacity: Int
    /// The most bytes of code this assembler holds.
    public let maximumCodeSize: Int
    /// The largest `maximumCodeSize`: rel32 displacements reach ±2 GiB.
    public static let codeSizeLimit = Int(Int32.max)

    /// Label table: the bound offset (or -1) and the head of the chain of pending fix-ups.
    var labels: [LabelState] = []
    /// Pending fix-ups of not-yet-bound labels, chained per label through `next`.
    var fixups: [Fixup] = []
    /// Number of fix-ups in `fixups` whose label is not bound yet.
    var pendingFixups = 0

    /// Creates an assembler with room for `initialCapacity` bytes before it first grows.
    /// - Parameters:
    ///   - reservingCapacity: address space to reserve, so that the buffer grows in place up to
    ///     that size (`PageBuffer`'s `reserving`); 0 for none.
    ///   - maximumCodeSize: more code than this is a precondition failure (at most
    ///     `codeSizeLimit`, the default).
    public init(initialCapacity: Int = 4096, reservingCapacity: Int = 0, maximumCodeSize: Int = X86Assembler.codeSizeLimit) {
        precondition(maximumCodeSize >= 64 && maximumCodeSize <= X86Assembler.codeSizeLimit,
                     "the code size limit must be 64 bytes to 2 GiB - 1")
        self.maximumCodeSize = maximumCodeSize
        buffer = PageBuffer(byteCount: min(max(initialCapacity, 64), maximumCodeSize), ownPages: true,
                            reserving: min(reservingCapacity, maximumCodeSize))
        capacity = min(buffer.size, maximumCodeSize)
        base = buffer.base.assumingMemoryBound(to: UInt8.self)
        count = 0
    }

    /// The number of bytes emitted so far, which is also the offset the next instruction will
    /// get. The recompiler can record it per guest instruction to map guest to native offsets.
    @inline(__always)
    public var position: Int { count }

    /// Forgets all code, labels and fix-ups but keeps the allocated memory for reuse.
    /// Labels created before the reset must not be used afterwards.
    public func reset() {
        count = 0
        labels.removeAll(keepingCapacity: true)
        fixups.removeAll(keepingCapacity: true)
        pendingFixups = 0
    }

    /// A copy of the code emitted so far. Call `finalize()` first to be sure every label
    /// reference has been patched.
    public var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// Calls `body` with the code emitted so far, without copying it.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Overwrites the byte at `offset` with `value` (e.g. a nop's first byte with a jump's
    /// opcode, when a fallthrough is chained).
    public func patchByte(at offset: Int, _ value: UInt8) {
        precondition(offset >= 0 && offset < count, "patch outside the emitted code")
        base[offset] = value
    }

    /// The little-endian UInt32 at `offset` of the emitted code (a field written earlier).
    public func uint32(at offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= count, "read outside the emitted code")
        return UInt32(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt32.self))
    }

    /// Overwrites four bytes at `offset` with `value` (little-endian). For patching code after
    /// the fact, e.g. a displacement or immediate whose value is only known later.
    public func patchUInt32(at offset: Int, _ value: UInt32) {
        precondition(offset >= 0 && offset + 4 <= count, "patch outside the emitted code")
        UnsafeMutableRawPointer(base + offset).storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    // MARK: Raw data

    /// Appends one raw byte (for data embedded in the code, or encodings this DSL lacks).
    public func emit(byte: UInt8) {
        reserve()
        put(byte)
    }

    /// Appends raw bytes.
    public func emit(bytes: some Sequence<UInt8>) {
        for b in bytes { emit(byte: b) }
    }

    /// Appends the low `n` bytes (1...8) of `value`, little-endian, with one store: for the
    /// fixed byte sequences the recompiler writes per block.
    @inline(__always)
    public func emit(raw value: UInt64, bytes n: Int) {
        precondition(n >= 1 && n <= 8, "1 to 8 raw bytes")
        reserve()
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt64.self)
        count &+= n
    }

    /// Appends a little-endian 32-bit value.
    public func emit(uint32 value: UInt32) {
        reserve()
        put32(value)
    }

    /// Appends a little-endian 64-bit value.
    public func emit(uint64 value: UInt64) {
        reserve()
        put64(value)
    }

    // MARK: Buffer primitives

    /// Makes sure 16 bytes can be written without further checks: every instruction calls
    /// this once before emitting, as none is longer than 15 bytes.
    @inline(__always)
    func reserve() {
        if _slowPath(capacity - count < 16) { grow() }
    }

    /// Grows the buffer: by an eighth (at least 2 MiB) within its reservation, where growing
    /// costs no copy and a small step keeps the memory made writable close to the code; else
    /// doubles it. Kept out of line so the inlined fast path stays small.
    @inline(never)
    func grow() {
        precondition(count + 16 <= maximumCodeSize, "code larger than \(maximumCodeSize) bytes")
        let wanted = capacity < buffer.reservedSize
            ? min(capacity + max(capacity / 8, PageBuffer.hugePageSize), buffer.reservedSize)
            : capacity * 2
        buffer.grow(to: min(wanted, maximumCodeSize), keeping: count)
        capacity = min(buffer.size, maximumCodeSize)
        base = buffer.base.assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    func put(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    func put16(_ value: UInt16) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt16.self)
        count &+= 2
    }

    @inline(__always)
    func put32(_ value: UInt32) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt32.self)
        count &+= 4
    }

    @inline(__always)
    func put64(_ value: UInt64) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt64.self)
        count &+= 8
    }

    /// Writes `value` at an earlier offset (used to patch rel8/rel32 fields).
    @inline(__always)
    func store32(_ value: Int32, at offset: Int) {
        UnsafeMutableRawPointer(base + offset).storeBytes(of: UInt32(bitPattern: value).littleEndian, as: UInt32.self)
    }
}
