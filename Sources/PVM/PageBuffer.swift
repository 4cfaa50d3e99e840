#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A zero-filled, read-write block of whole pages of its own (anonymous, private), for the
/// large transient buffers of decoding and compiling: the padded code copy, the per-pc bitmaps,
/// the machine-code buffer.
///
/// Why not `malloc`: a buffer of a few MiB comes from a fresh mapping either way, and on this
/// kind of machine (a VM) the first touch of each 4 KiB page costs about 1.3 µs. A worker
/// compiles once, in a fresh process, so it touches every page for the first time: for a 1 MB
/// program that was about 10 of its 22 ms (docs/benchmarks.md). A buffer of 1 MiB or more is therefore placed on
/// 2 MiB boundaries and asked for transparent huge pages (`MADV_HUGEPAGE`): one fault per
/// 2 MiB instead of up to 512. Where THP is off, or the advice is refused (e.g. by a seccomp filter),
/// the buffer simply stays in 4 KiB pages.
///
/// Small buffers (under `heapLimit`) come from the heap instead, where a mapping's two system
/// calls would cost more than the faults they save, unless the buffer must have pages of its
/// own (`ownPages`, required by `makeExecutable`).
///
/// A buffer that may grow large (the machine code) can reserve address space for its growth
/// (`reserving`): the mapping is that size but inaccessible (PROT_NONE) past the buffer, and
/// `grow` makes more of it read-write in place, without a copy. The old and the new buffer are
/// then never held at once: growing by a copy needs both, which for a large program's code
/// was most of a worker's memory budget (RLIMIT_DATA counts writable private mappings only, so
/// the reservation costs none of it, only address space).
///
/// A worker, which compiles exactly once in a fresh process, prepares its compile's memory
/// while it waits for the job (`prepareSpares`): a code mapping and a small arena, their first
/// pages faulted in, which the next buffers take instead of making their own system calls and
/// first page faults on the job's path.
///
/// The memory is released when the buffer is freed (arena memory only when the process ends).
/// Not thread-safe.
public final class PageBuffer: @unchecked Sendable {
    public static let hugePageSize = 2 << 20
    static let pageSize = 4096

    /// The first usable byte (page-aligned for a mapping, 2 MiB-aligned for a huge one; 16-byte
    /// aligned from the heap, 64-byte aligned from the arena).
    public private(set) var base: UnsafeMutableRawPointer
    /// Usable bytes from `base` (a whole number of pages, at least the size asked for).
    public private(set) var size: Int
    /// Bytes from `base` that `grow` makes usable in place (the reservation; `size` when there
    /// is none).
    public private(set) var reservedSize: Int
    /// The reservation asked for, kept for the mapping a growth past it moves to.
    private let reservationHint: Int
    /// The whole mapping, which may start before `base` and end after `base + size`.
    /// (`mappingSize` is 0 for a heap buffer, `arenaMarker` for one in the arena.)
    var mapping: UnsafeMutableRawPointer
    var mappingSize: Int
    public static let heapLimit = 128 << 10

    /// At least `byteCount` zeroed bytes; traps when the system cannot provide them (as
    /// `malloc` failing would).
    /// - Parameter reserving: address space to reserve for growing in place (see the type's
    ///   documentation), for a buffer with pages of its own; where it cannot be reserved, or
    ///   the buffer comes from the prepared spare, growing copies instead.
    public init(byteCount: Int, ownPages: Bool = false, reserving: Int = 0) {
        reservationHint = reserving
        if let spare = PageBuffer.takeSpare(byteCount, ownPages: ownPages) {
            (mapping, mappingSize, base, size) = spare
            reservedSize = size
            return
        }
        if !ownPages && byteCount < PageBuffer.heapLimit {
            guard let p = calloc(max(byteCount, 1), 1) else { preconditionFailure("out of memory") }
            (mapping, mappingSize, base, size) = (p, 0, p, byteCount)
            reservedSize = size
        } else {
            (mapping, mappingSize, base, size, reservedSize) = PageBuffer.map(byteCount, reserving: reserving)
        }
    }

    deinit { PageBuffer.release(mapping, mappingSize) }

    /// Frees what `mapping`/`mappingSize` describe: heap memory (size 0), arena memory (never
    /// freed on its own) or a mapping.
    private static func release(_ mapping: UnsafeMutableRawPointer, _ mappingSize: Int) {
        if mappingSize == 0 { free(mapping) } else if mappingSize != arenaMarker { munmap(mapping, mappingSize) }
    }

    // MARK: Memory prepared ahead of the job

    /// `mappingSize` of a buffer in the arena.
    static let arenaMarker = -1

    struct Spares: @unchecked Sendable {
        /// A read-write mapping for the next buffer with pages of its own (the machine code).
        var code: (base: UnsafeMutableRawPointer, size: Int)?
        /// Bump-allocated for small buffers; never freed (a worker's process ends instead).
        var arena: UnsafeMutableRawPointer?
        var arenaUsed = 0
        var arenaSize = 0
    }
    private static let spares = Mutex(Spares())

    /// Maps `codeBytes` for the next buffer with pages of its own and an arena of `arenaBytes`
    /// for small buffers, and faults in the first `codePages` and `arenaPages` of them (a
    /// worker's compile of a small program touches no more). Returns 0 or the errno of the
    /// mapping that failed. Only for a process that compiles once (a worker): arena memory is
    /// never returned.
    @discardableResult
    public static func prepareSpares(codeBytes: Int = 64 << 10, codePages: Int = 1,
                                     arenaBytes: Int = 256 << 10, arenaPages: Int = 3) -> Int32 {
        // One mapping: the code first (made executable in place, its tail unmapped, by
        // `makeExecutable`), the arena after it.
        let codeSize = (codeBytes + pageSize - 1) & ~(pageSize - 1)
        let total = codeSize + arenaBytes
        guard let c = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), c != MAP_FAILED
        else { return errno }
        let a = c + codeSize
        for page in 0..<min(codePages, codeSize / pageSize) { c.storeBytes(of: 0, toByteOffset: page * pageSize, as: UInt8.self) }
        for page in 0..<min(arenaPages, arenaBytes / pageSize) { a.storeBytes(of: 0, toByteOffset: page * pageSize, as: UInt8.self) }
        let previous = spares.withLock { s -> Spares in
            defer { s = Spares(code: (c, codeSize), arena: a, arenaUsed: 0, arenaSize: arenaBytes) }
            return s
        }
        if let old = previous.code { munmap(old.base, old.size) }
        return 0
    }

    /// Memory prepared by `prepareSpares` for a buffer of `byteCount` bytes, if there is any
    /// that fits: (mapping, mappingSize, base, size).
    private static func takeSpare(_ byteCount: Int, ownPages: Bool)
        -> (UnsafeMutableRawPointer, Int, UnsafeMutableRawPointer, Int)? {
        spares.withLock { s in
            if ownPages {
                guard let code = s.code, byteCount <= code.size else { return nil }
                s.code = nil
                return (code.base, code.size, code.base, code.size)
            }
            guard byteCount < heapLimit, let arena = s.arena else { return nil }
            let size = max((byteCount + 63) & ~63, 64)
            guard s.arenaUsed + size <= s.arenaSize else { return nil }
            let p = arena + s.arenaUsed
            s.arenaUsed += size
            return (p, arenaMarker, p, size)
        }
    }

    /// `byteCount` rounded up to whole pages, or to whole huge pages from 1 MiB on: there one
    /// huge page (one fault, and 2 MiB cleared by the kernel) costs less than the 256 or more
    /// first touches of 4 KiB pages it replaces (about 1.3 µs each here, against about 0.1 ms
    /// to clear 2 MiB), for the buffers here, which are written through; and a huge buffer is
    /// whole huge pages, so that its tail is not left in small ones.
    private static func rounded(_ byteCount: Int) -> Int {
        let size = max((byteCount + pageSize - 1) & ~(pageSize - 1), pageSize)
        return size >= hugePageSize / 2 ? (size + hugePageSize - 1) & ~(hugePageSize - 1) : size
    }

    /// A mapping of at least `byteCount` read-write bytes, and up to `reserving` bytes in all
    /// that can be made read-write in place: (mapping, mappingSize, base, size, reservedSize).
    private static func map(_ byteCount: Int, reserving: Int = 0)
        -> (UnsafeMutableRawPointer, Int, UnsafeMutableRawPointer, Int, Int) {
        let size = rounded(byteCount)
        var reserved = max(rounded(reserving), size)
        // Huge buffers, and reservations that can become one, start on a 2 MiB boundary.
        var huge = reserved >= hugePageSize / 2
        if reserved > size {
            if let m = mmap(nil, huge ? reserved + hugePageSize : reserved, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), m != MAP_FAILED {
                let total = huge ? reserved + hugePageSize : reserved
                let base = huge ? aligned(m) : m
                guard mprotect(base, size, PROT_READ | PROT_WRITE) == 0 else {
                    preconditionFailure("cannot map \(size) bytes: errno \(errno)")
                }
                if huge { _ = madvise(base, reserved, 14 /* MADV_HUGEPAGE */) }
                return (m, total, base, size, reserved)
            }
            // No address space for it (RLIMIT_AS): no reservation; growing copies.
            reserved = size
            huge = size >= hugePageSize / 2
        }
        let total = huge ? size + hugePageSize : size
        guard let m = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              m != MAP_FAILED else {
            preconditionFailure("cannot map \(total) bytes: errno \(errno)")
        }
        guard huge else { return (m, total, m, size, size) }
        let base = aligned(m)
        _ = madvise(base, size, 14 /* MADV_HUGEPAGE */)
        return (m, total, base, size, size)
    }

    /// The first 2 MiB boundary at or after `p`.
    private static func aligned(_ p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: p) + UInt(hugePageSize - 1)) & ~UInt(hugePageSize - 1))!
    }

    /// Grows the buffer to at least `byteCount` bytes, keeping the first `keeping` bytes
    /// (the rest of the new buffer is zero). Within the reservation (`reservedSize`) the pages
    /// after the buffer become read-write and `base` stays; past it, the buffer moves to a new
    /// mapping (with a reservation of its own) and `base` changes.
    public func grow(to byteCount: Int, keeping: Int) {
        if byteCount <= reservedSize {
            let newSize = min(PageBuffer.rounded(byteCount), reservedSize)
            guard newSize > size else { return }
            guard mprotect(base + size, newSize - size, PROT_READ | PROT_WRITE) == 0 else {
                preconditionFailure("cannot map \(newSize - size) more bytes: errno \(errno)")
            }
            size = newSize
            return
        }
        let (m, total, b, s, r) = PageBuffer.map(byteCount, reserving: max(reservationHint, byteCount))
        b.copyMemory(from: base, byteCount: min(keeping, size))
        PageBuffer.release(mapping, mappingSize)
        (mapping, mappingSize, base, size, reservedSize) = (m, total, b, s, r)
    }

    /// Makes the first `byteCount` bytes read-execute (never writable again) and unmaps the pages
    /// after them, so that no part of the mapping is writable and executable at once. Returns
    /// errno on failure (the buffer is then unchanged).
    public func makeExecutable(byteCount: Int) -> Int32 {
        precondition(mappingSize > 0, "only a buffer with pages of its own can be made executable")
        let keep = max((byteCount + PageBuffer.pageSize - 1) & ~(PageBuffer.pageSize - 1), PageBuffer.pageSize)
        guard mprotect(base, keep, PROT_READ | PROT_EXEC) == 0 else { return errno }
        // Return the unused tail (and the alignment slack) to the system.
        let end = base + keep, mappingEnd = mapping + mappingSize
        if end < mappingEnd { munmap(end, mappingEnd - end) }
        if mapping < base { munmap(mapping, base - mapping) }
        mapping = base
        mappingSize = keep
        size = keep
        reservedSize = keep
        return 0
    }
}
