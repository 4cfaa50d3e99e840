#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The interpreter's guest RAM: the whole 32-bit address space as one lazily backed host mapping,
/// plus one access byte per 4 KiB page. Untouched pages cost nothing; an access is a page-table
/// lookup and a plain load or store.
///
/// Pages only ever go from inaccessible to readable or writable (mapping, `sbrk`), never back, so
/// a page's bytes are zero until the guest or the loader writes them.
public final class GuestMemory: @unchecked Sendable {
    public static let pageSize: UInt32 = 4096
    public static let pageShift: UInt32 = 12
    /// Addresses below this always panic when accessed inaccessibly (GP Z_Z, the 64 KiB zone).
    public static let panicZone: UInt32 = 0x10000
    static let pageCount = 1 << 20
    // 2^32 bytes plus one spare page, so an 8-byte access at 0xFFFFFFF8 stays inside the mapping.
    static let mappingSize = (1 << 32) + 4096

    /// The access a page allows. `write` implies read.
    public enum Access: UInt8, Sendable {
        case none = 0
        case read = 1
        case write = 3
    }

    /// Host address of guest address 0.
    public let base: UnsafeMutableRawPointer
    /// One `Access` raw value per guest page.
    let flags: UnsafeMutablePointer<UInt8>
    /// Whether host page protections mirror the guest page map (for the recompiler, whose loads
    /// and stores are plain machine instructions that fault in hardware).
    public let hardwareProtected: Bool
    /// Bytes reserved just below `base` for the recompiler's context (registers, gas, jump table),
    /// readable and writable by the host, unreachable by guest addresses.
    public let contextSize: Int
    /// The start of the whole reservation (`base - contextSize`).
    let reservation: UnsafeMutableRawPointer
    let reservationSize: Int

    /// The current heap end (the value `sbrk(0)` returns).
    public internal(set) var heapTop: UInt32 = 0
    /// `sbrk` fails (returns 0) rather than move `heapTop` past this.
    public internal(set) var heapLimit: UInt32 = 0
    /// The embedder's memory budget, if any (see `MemoryBudget`).
    var budget: (heapEnd: UInt64, bytesBelowHeapEnd: Int64, rule: MemoryBudget)?

    /// A guard above the 4 GiB space: an access that starts below 2^32 and runs past it faults.
    static let upperGuard = 1 << 16
    /// Where the recompiler's reservation goes when that address range is free.
    static let preferredAddress: UInt = 0x10_0000_0000

    /// Reserves the address space.
    ///
    /// - Parameters:
    ///   - hardwareProtected: map the space inaccessible and mirror every page's access in the host
    ///     page tables (the default: the recompiler needs it, and inside a worker only pages the
    ///     guest can really use count against the memory rlimit). With `false` the whole space is
    ///     readable and writable and only the page table decides, which saves an mprotect per
    ///     mapping when many small machines are made and dropped (tests).
    ///   - contextSize: bytes to reserve below guest address 0 for the recompiler, rounded up to
    ///     pages.
    /// - Throws: if the host cannot reserve the address space.
    public init(hardwareProtected: Bool = true, contextSize: Int = 0) throws(MemoryError) {
        let context = (contextSize + 4095) & ~4095
        if hardwareProtected, let spare = GuestMemory.takeSpare(fitting: context) {
            reservation = spare.reservation
            reservationSize = spare.size
            base = spare.reservation + spare.contextCapacity
            self.contextSize = spare.contextCapacity
            self.hardwareProtected = true
            flags = spare.table
            return
        }
        let size = context + GuestMemory.mappingSize + (hardwareProtected ? GuestMemory.upperGuard : 0)
        let prot = hardwareProtected ? PROT_NONE : PROT_READ | PROT_WRITE
        let mapFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        var space: UnsafeMutableRawPointer? = nil
        if hardwareProtected {
            // A fixed, well-known address keeps guest memory far from the Swift heap and makes
            // crash dumps easy to read; any other free range works just as well.
            let hint = UnsafeMutableRawPointer(bitPattern: GuestMemory.preferredAddress - UInt(context))
            let p = mmap(hint, size, prot, mapFlags | MAP_FIXED_NOREPLACE, -1, 0)
            if p != MAP_FAILED { space = p }
        }
        if space == nil {
            let p = mmap(nil, size, prot, mapFlags, -1, 0)
            guard p != MAP_FAILED, let p else {
                throw MemoryError(errno: errno, what: "reserve 4 GiB of guest address space")
            }
            space = p
        }
        let flagsBytes = GuestMemory.pageCount
        guard let table = mmap(nil, flagsBytes, PROT_READ | PROT_WRITE, mapFlags, -1, 0), table != MAP_FAILED else {
            munmap(space, size)
            throw MemoryError(errno: errno, what: "allocate the guest page table")
        }
        reservation = space!
        reservationSize = size
        base = space! + context
        self.contextSize = context
        self.hardwareProtected = hardwareProtected
        flags = table.bindMemory(to: UInt8.self, capacity: flagsBytes)
        if context > 0 && hardwareProtected {
            guard mprotect(reservation, context, PROT_READ | PROT_WRITE) == 0 else {
                let e = errno
                munmap(reservation, size)
                munmap(table, flagsBytes)
                throw MemoryError(errno: e, what: "map the recompiler context")
            }
        }
    }

    /// A reservation made before it is needed (`prepareSpare`): the address space at the
    /// preferred address with `contextCapacity` bytes of context below it, and the page table,
    /// their first pages already faulted in.
    struct Spare: @unchecked Sendable {
        let reservation: UnsafeMutableRawPointer
        let size: Int
        let contextCapacity: Int
        let table: UnsafeMutablePointer<UInt8>
    }
    private static let spare = Mutex<Spare?>(nil)

    /// Makes the address-space reservation, the context and the page table of the next
    /// hardware-protected `GuestMemory` now, so that creating it later costs none of their
    /// system calls or first page faults (in a fresh process each costs 2–9 µs on a VM). A worker
    /// calls it while it waits for its job, at the background priority. The next
    /// `GuestMemory(hardwareProtected: true, contextSize:)` with a context of at most
    /// `contextCapacity` bytes takes it; a larger one releases it first (it holds the
    /// preferred address). Returns 0, or the errno of the call that failed (nothing is kept).
    @discardableResult
    public static func prepareSpare(contextCapacity: Int = 64 << 10) -> Int32 {
        let context = max(4096, (contextCapacity + 4095) & ~4095)
        let size = context + mappingSize + upperGuard
        let hint = UnsafeMutableRawPointer(bitPattern: preferredAddress - UInt(context))
        let p = mmap(hint, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0)
        guard p != MAP_FAILED, let space = p else { return errno }
        guard mprotect(space, context, PROT_READ | PROT_WRITE) == 0,
              let t = mmap(nil, pageCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              t != MAP_FAILED else {
            let e = errno
            munmap(space, size)
            return e
        }
        let table = t.bindMemory(to: UInt8.self, capacity: pageCount)
        // Fault in (as private zero pages) what every job touches: the context's header page and
        // the page below it (a small program's jump table), and the page table's first and last
        // pages (the data and heap low in the address space, the stack at its top).
        let header = space + context - 4096
        header.storeBytes(of: 0, as: UInt8.self)
        if context >= 8192 { (header - 4096).storeBytes(of: 0, as: UInt8.self) }
        table[0] = 0
        table[pageCount - 1] = 0
        let previous = spare.withLock { s -> Spare? in
            defer { s = Spare(reservation: space, size: size, contextCapacity: context, table: table) }
            return s
        }
        if let previous { release(previous) }
        return 0
    }

    /// The spare, if one is prepared and its context is big enough; a spare too small is
    /// released, since it holds the preferred address.
    static func takeSpare(fitting context: Int) -> Spare? {
        guard let s = spare.withLock({ s -> Spare? in defer { s = nil }; return s }) else { return nil }
        if context <= s.contextCapacity { return s }
        release(s)
        return nil
    }

    private static func release(_ s: Spare) {
        munmap(s.reservation, s.size)
        munmap(UnsafeMutableRawPointer(s.table), pageCount)
    }

    deinit {
        munmap(reservation, reservationSize)
        munmap(UnsafeMutableRawPointer(flags), GuestMemory.pageCount)
    }

    /// The host protection matching a page access.
    static func protection(_ access: Access) -> Int32 {
        switch access {
        case .none: return PROT_NONE
        case .read: return PROT_READ
        case .write: return PROT_READ | PROT_WRITE
        }
    }

    /// Sets the access of `count` pages from `firstPage`, in the host page tables too when
    /// hardware-protected.
    func setAccess(firstPage: Int, count: Int, _ access: Access) {
        guard count > 0 else { return }
        for p in firstPage..<(firstPage + count) { flags[p] = access.rawValue }
        if hardwareProtected {
            let rc = mprotect(base + (firstPage << 12), count << 12, GuestMemory.protection(access))
            precondition(rc == 0, "mprotect of guest pages failed: errno \(errno)")
        }
    }

    // MARK: - Page map

    /// Makes `[address, address + length)` accessible. Both must be page-aligned.
    public func map(address: UInt32, length: UInt32, access: Access) {
        precondition(address % GuestMemory.pageSize == 0 && length % GuestMemory.pageSize == 0,
                     "page map regions are page-aligned")
        let first = Int(address >> GuestMemory.pageShift)
        let count = min(Int(length >> GuestMemory.pageShift), GuestMemory.pageCount - first)
        setAccess(firstPage: first, count: count, access)
    }

    /// The access allowed on the page holding `address`.
    public func access(at address: UInt32) -> Access {
        Access(rawValue: flags[Int(address >> GuestMemory.pageShift)]) ?? .none
    }

    /// The page-aligned addresses of every accessible page, ascending.
    public func accessiblePages() -> [UInt32] {
        var pages: [UInt32] = []
        for p in 0..<GuestMemory.pageCount where flags[p] != 0 { pages.append(UInt32(p) << GuestMemory.pageShift) }
        return pages
    }

    /// Sets up the heap for `sbrk`: it starts at `top` and may grow up to `limit`.
    public func setHeap(top: UInt32, limit: UInt32) {
        heapTop = top
        heapLimit = limit
    }

    /// Puts the heap under `rule`: an `sbrk` that would take the heap end past `heapEnd` calls
    /// `rule.exceeded` instead of returning. `bytesBelowHeapEnd`: the guest memory mapped in all
    /// minus the heap end's address, so that the two add up to the memory an `sbrk` asks for.
    public func setBudget(_ rule: MemoryBudget, heapEnd: UInt32, bytesBelowHeapEnd: Int64) {
        budget = (UInt64(heapEnd), bytesBelowHeapEnd, rule)
    }

    /// GP `sbrk`: grows the heap by `size` bytes, making the new pages writable, and returns the old
    /// heap end; `sbrk(0)` returns the current end. Returns 0 and changes nothing when the heap would
    /// pass its limit. Under a `MemoryBudget`, an `sbrk` within the limit but past the budget does
    /// not return: the budget's `exceeded` ends the run.
    public func sbrk(_ size: UInt64) -> UInt64 {
        let old = UInt64(heapTop)
        if size == 0 { return old }
        let new = old + min(size, 1 << 33)
        guard new <= UInt64(heapLimit) else { return 0 }
        if let budget, new > budget.heapEnd {
            budget.rule.exceeded(UInt64(Int64(new) + budget.bytesBelowHeapEnd))
        }
        let firstPage = (old + UInt64(GuestMemory.pageSize) - 1) >> 12
        let endPage = (new + UInt64(GuestMemory.pageSize) - 1) >> 12
        // Runs of inaccessible pages become writable with one mprotect each (pages already
        // mapped, e.g. read-only data the heap grew over, keep their access).
        var p = Int(firstPage)
        let end = Int(max(endPage, firstPage))
        while p < end {
            if flags[p] != 0 { p += 1; continue }
            var q = p + 1
            while q < end && flags[q] == 0 { q += 1 }
            setAccess(firstPage: p, count: q - p, .write)
            p = q
        }
        heapTop = UInt32(new)
        return old
    }

    // MARK: - Raw access (loader and inspection; no permission checks)

    /// Copies `bytes` to `address` regardless of page access (wrapping mod 2^32).
    public func initialize(_ bytes: some Collection<UInt8>, at address: UInt32) {
        guard !bytes.isEmpty else { return }
        let unprotected = hardwareProtected ? openForHost(address, bytes.count) : []
        var a = address
        for byte in bytes {
            base.storeBytes(of: byte, toByteOffset: Int(a), as: UInt8.self)
            a &+= 1
        }
        for page in unprotected { setAccess(firstPage: page, count: 1, Access(rawValue: flags[page]) ?? .none) }
    }

    /// Makes the pages under `[address, address + count)` host-writable for the loader; returns
    /// the pages whose protection must be restored afterwards.
    func openForHost(_ address: UInt32, _ count: Int) -> [Int] {
        var pages: [Int] = []
        var a = UInt64(address) & ~0xFFF
        while a < UInt64(address) + UInt64(count) {
            let page = Int((a >> 12) & 0xFFFFF)
            if flags[page] != Access.write.rawValue {
                mprotect(base + (page << 12), 4096, PROT_READ | PROT_WRITE)
                pages.append(page)
            }
            a += 4096
        }
        return pages
    }

    /// Reads `count` bytes at `address` regardless of page access (wrapping mod 2^32).
    public func bytes(at address: UInt32, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var a = address
        for i in 0..<count {
            out[i] = base.load(fromByteOffset: Int(a), as: UInt8.self)
            a &+= 1
        }
        return out
    }

    /// Whether every byte of `[address, address + count)` is readable (no wrapping past 2^32).
    public func isReadable(_ address: UInt32, count: UInt64) -> Bool {
        if count == 0 { return true }
        guard UInt64(address) + count <= 1 << 32 else { return false }
        var p = UInt64(address) >> 12
        let last = (UInt64(address) + count - 1) >> 12
        while p <= last {
            if flags[Int(p)] == 0 { return false }
            p += 1
        }
        return true
    }

    /// Reads guest memory for the embedder if every byte is readable (no wrapping past 2^32).
    public func read(_ address: UInt32, count: Int) -> [UInt8]? {
        guard isReadable(address, count: UInt64(count)) else { return nil }
        return bytes(at: address, count: count)
    }

    /// Writes guest memory for the embedder if every byte is writable (no wrapping past 2^32);
    /// writes nothing otherwise.
    public func write(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        guard UInt64(address) + UInt64(bytes.count) <= 1 << 32,
              fault(address, UInt32(clamping: bytes.count), write: true) == nil else { return false }
        initialize(bytes, at: address)
        return true
    }

    // MARK: - Guest access with the GP rules

    /// Loads `size` (1, 2, 4 or 8) bytes little-endian, or nil if any byte is not readable.
    @inline(__always)
    public func load(_ address: UInt32, _ size: UInt32) -> UInt64? {
        let end = address &+ (size &- 1)
        if end >= address,
           flags[Int(address >> 12)] & 1 != 0, flags[Int(end >> 12)] & 1 != 0 {
            let p = base + Int(address)
            switch size {
            case 1: return UInt64(p.load(as: UInt8.self))
            case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
            case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
            default: return p.loadUnaligned(as: UInt64.self)
            }
        }
        return loadSlow(address, size)
    }

    /// Stores the low `size` bytes of `value`, or returns false (writing nothing) if any byte is not
    /// writable.
    @inline(__always)
    public func store(_ address: UInt32, _ size: UInt32, _ value: UInt64) -> Bool {
        let end = address &+ (size &- 1)
        if end >= address,
           flags[Int(address >> 12)] & 2 != 0, flags[Int(end >> 12)] & 2 != 0 {
            let p = base + Int(address)
            switch size {
            case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value), as: UInt16.self)
            case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value), as: UInt32.self)
            default: p.storeBytes(of: value, as: UInt64.self)
            }
            return true
        }
        return storeSlow(address, size, value)
    }

    /// Accesses that wrap past 2^32 or touch an inaccessible page.
    @inline(never)
    func loadSlow(_ address: UInt32, _ size: UInt32) -> UInt64? {
        if fault(address, size, write: false) != nil { return nil }
        var v: UInt64 = 0
        for i in 0..<size {
            v |= UInt64(base.load(fromByteOffset: Int(address &+ i), as: UInt8.self)) << (8 * UInt64(i))
        }
        return v
    }

    @inline(never)
    func storeSlow(_ address: UInt32, _ size: UInt32, _ value: UInt64) -> Bool {
        if fault(address, size, write: true) != nil { return false }
        for i in 0..<size {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))),
                            toByteOffset: Int(address &+ i), as: UInt8.self)
        }
        return true
    }

    /// The outcome of an access under GP A.8: nil when every byte (mod 2^32) is accessible; else
    /// `.panic` when the lowest inaccessible address is below 64 KiB, or a page fault at its page.
    public func fault(_ address: UInt32, _ size: UInt32, write: Bool) -> ExitReason? {
        let need: UInt8 = write ? 2 : 1
        var lowest: UInt32? = nil
        for i in 0..<size {
            let a = address &+ i
            if flags[Int(a >> 12)] & need == 0 { lowest = min(lowest ?? a, a) }
        }
        guard let bad = lowest else { return nil }
        if bad < GuestMemory.panicZone { return .panic }
        return .pageFault(address: bad & ~(GuestMemory.pageSize - 1))
    }
}

/// The host could not set up guest memory.
public struct MemoryError: Error, Sendable, CustomStringConvertible {
    public let errno: Int32
    public let what: String
    public var description: String { "failed to \(what): \(String(cString: strerror(errno)))" }
}
