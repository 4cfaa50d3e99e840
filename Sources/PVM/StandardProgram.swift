/// The GP standard program container (SPEC.md §2.12, GP Y):
/// `E₃(|o|) ‖ E₃(|w|) ‖ E₂(z) ‖ E₃(s) ‖ o ‖ w ‖ E₄(|c|) ‖ c`, where `c` is a program blob.
public struct StandardProgram: Sendable, Equatable {
    /// Read-only data, mapped at 0x10000.
    public var readOnlyData: [UInt8]
    /// Read-write data, mapped at the heap base.
    public var readWriteData: [UInt8]
    /// Extra zeroed, writable heap pages after the read-write data.
    public var extraHeapPages: UInt32
    /// The guest stack size in bytes (rounded up to pages when mapped).
    public var stackSize: UInt32
    /// The code, as a program blob.
    public var blob: ProgramBlob

    public init(readOnlyData: [UInt8] = [], readWriteData: [UInt8] = [], extraHeapPages: UInt32 = 0,
                stackSize: UInt32 = 0, blob: ProgramBlob) {
        self.readOnlyData = readOnlyData
        self.readWriteData = readWriteData
        self.extraHeapPages = extraHeapPages
        self.stackSize = stackSize
        self.blob = blob
    }

    /// Decodes a standard program, checking every length against the bytes present and the layout
    /// against the 2^32 bound before allocating anything.
    public init(decoding bytes: [UInt8], limits: ProgramLimits = ProgramLimits()) throws(ProgramError) {
        var r = ByteReader(bytes)
        let roLen = try r.readFixed(3, "read-only data length")
        let rwLen = try r.readFixed(3, "read-write data length")
        let heapPages = try r.readFixed(2, "extra heap pages")
        let stack = try r.readFixed(3, "stack size")
        // The layout bound depends only on the header: check it before reading the sections.
        guard GuestMemoryLayout.fits(readOnly: roLen, readWrite: rwLen, heapPages: heapPages, stack: stack) else {
            throw ProgramError(.layoutTooLarge, field: "header", offset: 0,
                               expected: "5·64 KiB + Q(\(roLen)) + Q(\(rwLen) + \(heapPages)·4096) + Q(\(stack)) + 16 MiB ≤ 2^32")
        }
        guard stack <= UInt64(limits.maxStackSize) else {
            throw ProgramError(.limitExceeded, field: "stack size", offset: 8,
                               expected: "a stack of at most \(limits.maxStackSize) bytes, declared \(stack)")
        }
        let page = GuestMemoryLayout.page
        let memory = GuestMemoryLayout.pageAlign(roLen) + GuestMemoryLayout.pageAlign(rwLen) + heapPages * page
            + GuestMemoryLayout.pageAlign(stack)
        guard memory <= UInt64(limits.maxGuestMemory) else {
            throw ProgramError(.limitExceeded, field: "header", offset: 0,
                               expected: "at most \(limits.maxGuestMemory) bytes of guest memory, declared \(memory) (read-only \(roLen), read-write \(rwLen), \(heapPages) heap pages, stack \(stack))")
        }
        let ro = Array(try r.readBytes(roLen, "read-only data"))
        let rw = Array(try r.readBytes(rwLen, "read-write data"))
        let codeLenOffset = r.offset
        let codeLen = try r.readFixed(4, "code blob length")
        guard codeLen <= UInt64(r.remaining) else {
            throw ProgramError(.lengthPastEnd, field: "code blob", offset: codeLenOffset,
                               expected: "\(codeLen) bytes of code blob, but only \(r.remaining) remain")
        }
        let blobStart = r.offset
        guard codeLen == UInt64(r.remaining) else {
            throw ProgramError(.trailingBytes, field: "end of program", offset: blobStart + Int(codeLen),
                               expected: "no more bytes, found \(r.remaining - Int(codeLen)) trailing")
        }
        let blobBytes = Array(bytes[blobStart...])
        self.blob = try ProgramBlob(decoding: blobBytes, limits: limits, baseOffset: blobStart)
        self.readOnlyData = ro
        self.readWriteData = rw
        self.extraHeapPages = UInt32(heapPages)
        self.stackSize = UInt32(stack)
    }

    /// Encodes the container.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encodeFixed(UInt64(readOnlyData.count), width: 3, into: &out)
        encodeFixed(UInt64(readWriteData.count), width: 3, into: &out)
        encodeFixed(UInt64(extraHeapPages), width: 2, into: &out)
        encodeFixed(UInt64(stackSize), width: 3, into: &out)
        out += readOnlyData
        out += readWriteData
        let code = blob.encoded()
        encodeFixed(UInt64(code.count), width: 4, into: &out)
        out += code
        return out
    }

    /// The memory layout this program implies.
    public var layout: GuestMemoryLayout {
        GuestMemoryLayout(readOnlySize: UInt32(readOnlyData.count), readWriteSize: UInt32(readWriteData.count),
                          extraHeapPages: extraHeapPages, stackSize: stackSize)
    }
}

/// The fixed guest-memory layout of a standard program (SPEC.md §2.12). All addresses are guest
/// addresses; every region not listed is inaccessible.
public struct GuestMemoryLayout: Sendable, Equatable {
    public static let zone: UInt64 = 1 << 16          // Z_Z
    public static let maxInput: UInt64 = 1 << 24      // Z_I
    public static let page: UInt64 = 1 << 12          // Z_P
    /// The address a standard program halts by jumping to (the initial `ra`).
    public static let haltAddress: UInt32 = 0xFFFF_0000
    /// The first address of the read-only data.
    public static let readOnlyStart: UInt32 = 0x10000
    /// The end (exclusive) of the stack: the initial `sp`.
    public static let stackTop: UInt32 = 0xFEFE_0000
    /// The start of the argument (input) region: the initial `a0`.
    public static let argumentStart: UInt32 = 0xFEFF_0000

    public let readOnlySize: UInt32
    public let readWriteSize: UInt32
    public let extraHeapPages: UInt32
    public let stackSize: UInt32

    static func pageAlign(_ x: UInt64) -> UInt64 { (x + page - 1) / page * page }
    static func zoneAlign(_ x: UInt64) -> UInt64 { (x + zone - 1) / zone * zone }

    /// GP Y validity: 5·Z_Z + Q(|o|) + Q(|w| + z·Z_P) + Q(s) + Z_I ≤ 2^32.
    public static func fits(readOnly: UInt64, readWrite: UInt64, heapPages: UInt64, stack: UInt64) -> Bool {
        5 * zone + zoneAlign(readOnly) + zoneAlign(readWrite + heapPages * page) + zoneAlign(stack) + maxInput <= 1 << 32
    }

    /// The heap base h = 2·Z_Z + Q(|o|): where read-write data starts.
    public var heapBase: UInt32 { UInt32(2 * Self.zone + Self.zoneAlign(UInt64(readOnlySize))) }
    /// The end of the read-only mapping (page-aligned).
    public var readOnlyEnd: UInt32 { UInt32(UInt64(Self.readOnlyStart) + Self.pageAlign(UInt64(readOnlySize))) }
    /// The end of the initially writable heap: read-write data plus the extra pages.
    public var heapEnd: UInt32 {
        UInt32(UInt64(heapBase) + Self.pageAlign(UInt64(readWriteSize)) + UInt64(extraHeapPages) * Self.page)
    }
    /// The lowest stack address.
    public var stackBottom: UInt32 { UInt32(UInt64(Self.stackTop) - Self.pageAlign(UInt64(stackSize))) }
    /// How far `sbrk` may grow the heap: one zone below the stack, so that a stack overflow always
    /// faults on an unmapped page instead of running into heap memory.
    public var heapLimit: UInt32 { max(heapEnd, UInt32(UInt64(stackBottom) - Self.zone)) }

    /// The bytes mapped at start: read-only and read-write data, extra heap pages and the stack,
    /// each rounded up to pages (the input is not counted).
    public var initialMemory: UInt64 {
        Self.pageAlign(UInt64(readOnlySize)) + UInt64(heapEnd - heapBase) + Self.pageAlign(UInt64(stackSize))
    }

    /// How far `sbrk` may grow the heap when the guest may map at most `maxGuestMemory` bytes in
    /// all: the lower of `heapLimit` and what the memory budget leaves.
    public func heapLimit(maxGuestMemory: Int) -> UInt32 {
        let budget = UInt64(max(maxGuestMemory, 0))
        let room = budget > initialMemory ? budget - initialMemory : 0
        return UInt32(min(UInt64(heapLimit), UInt64(heapEnd) + room))
    }

    public init(readOnlySize: UInt32, readWriteSize: UInt32, extraHeapPages: UInt32, stackSize: UInt32) {
        self.readOnlySize = readOnlySize
        self.readWriteSize = readWriteSize
        self.extraHeapPages = extraHeapPages
        self.stackSize = stackSize
    }

    /// The initial registers for an input of `inputLength` bytes (ra, sp, a0, a1; the rest zero).
    public func initialRegisters(inputLength: UInt32) -> [UInt64] {
        var regs = [UInt64](repeating: 0, count: 13)
        regs[0] = UInt64(Self.haltAddress)
        regs[1] = UInt64(Self.stackTop)
        regs[7] = UInt64(Self.argumentStart)
        regs[8] = UInt64(inputLength)
        return regs
    }
}
