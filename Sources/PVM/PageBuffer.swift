#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A zero-filled, read-write block of whole pages of its own (anonymous, private), for the
/// large transient buffers of decoding and compiling: the padded code copy, the per-pc tables,
/// the machine-code buffer.
///
/// Why not `malloc`: a buffer of a few MiB comes from a fresh mapping either way, and on this
/// kind of machine (a VM) the first touch of each 4 KiB page costs about 1.3 µs. A worker
/// compiles once, in a fresh process, so it touches every page for the first time: for a 1 MB
/// program that was about 10 of its 22 ms (docs/benchmarks.md). A buffer of 2 MiB or more is therefore placed on
/// 2 MiB boundaries and asked for transparent huge pages (`MADV_HUGEPAGE`): one fault per
/// 2 MiB instead of 512. Where THP is off, or the advice is refused (e.g. by a seccomp filter),
/// the buffer simply stays in 4 KiB pages.
///
/// Small buffers (under `heapLimit`) come from the heap instead, where a mapping's two system
/// calls would cost more than the faults they save, unless the buffer must have pages of its
/// own (`ownPages`, required by `makeExecutable`).
///
/// The memory is released when the buffer is freed. Not thread-safe.
public final class PageBuffer: @unchecked Sendable {
    public static let hugePageSize = 2 << 20
    static let pageSize = 4096

    /// The first usable byte (page-aligned; 2 MiB-aligned for huge buffers).
    public private(set) var base: UnsafeMutableRawPointer
    /// Usable bytes from `base` (a whole number of pages, at least the size asked for).
    public private(set) var size: Int
    /// The whole mapping, which may start before `base` and end after `base + size`.
    /// (`mappingSize` is 0 for a heap buffer.)
    var mapping: UnsafeMutableRawPointer
    var mappingSize: Int
    public static let heapLimit = 128 << 10

    /// At least `byteCount` zeroed bytes; traps when the system cannot provide them (as
    /// `malloc` failing would).
    public init(byteCount: Int, ownPages: Bool = false) {
        if !ownPages && byteCount < PageBuffer.heapLimit {
            guard let p = calloc(max(byteCount, 1), 1) else { preconditionFailure("out of memory") }
            (mapping, mappingSize, base, size) = (p, 0, p, byteCount)
        } else {
            (mapping, mappingSize, base, size) = PageBuffer.map(byteCount)
        }
    }

    deinit {
        if mappingSize == 0 { free(mapping) } else { munmap(mapping, mappingSize) }
    }

    private static func map(_ byteCount: Int)
        -> (UnsafeMutableRawPointer, Int, UnsafeMutableRawPointer, Int) {
        var size = max((byteCount + pageSize - 1) & ~(pageSize - 1), pageSize)
        let huge = size >= hugePageSize
        // A huge buffer is whole huge pages, so that its tail is not left in small ones.
        if huge { size = (size + hugePageSize - 1) & ~(hugePageSize - 1) }
        let total = huge ? size + hugePageSize : size
        guard let m = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              m != MAP_FAILED else {
            preconditionFailure("cannot map \(total) bytes: errno \(errno)")
        }
        guard huge else { return (m, total, m, size) }
        let start = (UInt(bitPattern: m) + UInt(hugePageSize - 1)) & ~UInt(hugePageSize - 1)
        let base = UnsafeMutableRawPointer(bitPattern: start)!
        _ = madvise(base, size, 14 /* MADV_HUGEPAGE */)
        return (m, total, base, size)
    }

    /// Grows the buffer to at least `byteCount` bytes, keeping the first `keeping` bytes
    /// (the rest of the new buffer is zero). `base` changes.
    public func grow(to byteCount: Int, keeping: Int) {
        let (m, total, b, s) = PageBuffer.map(byteCount)
        b.copyMemory(from: base, byteCount: min(keeping, size))
        if mappingSize == 0 { free(mapping) } else { munmap(mapping, mappingSize) }
        (mapping, mappingSize, base, size) = (m, total, b, s)
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
        return 0
    }
}
