import PVM
import PVMAssembler

/// One test case: a program blob and the complete initial machine state, plus how the
/// differential driver serves exits. Everything is derived from `seed`.
public struct GeneratedProgram: Sendable {
    /// One page of the initial page map and its initial contents (empty: zero-filled).
    public struct Page: Sendable, Equatable {
        public var address: UInt32
        public var access: GuestMemory.Access
        public var contents: [UInt8]

        public init(address: UInt32, access: GuestMemory.Access, contents: [UInt8] = []) {
            self.address = address
            self.access = access
            self.contents = contents
        }
    }

    public var seed: UInt64
    public var blob: ProgramBlob
    /// Page-aligned, distinct pages.
    public var pages: [Page]
    public var registers: [UInt64]
    public var gas: Int64
    public var pc: UInt32
    /// The `sbrk` heap: current end and limit.
    public var heapTop: UInt32
    public var heapLimit: UInt32
    /// Mixed into the host-call results, so different programs see different results.
    public var hostSalt: UInt64
    /// How many page faults the driver serves by mapping the page writable and resuming (0: a
    /// page fault ends the run).
    public var faultsToServe: Int
    /// The driver stops after this many exits (host calls, served faults) even if the machine
    /// could go on.
    public var maxExits: Int

    public init(seed: UInt64, blob: ProgramBlob, pages: [Page], registers: [UInt64], gas: Int64, pc: UInt32 = 0,
                heapTop: UInt32 = 0, heapLimit: UInt32 = 0, hostSalt: UInt64 = 0, faultsToServe: Int = 0,
                maxExits: Int = 32) {
        precondition(registers.count == 13)
        self.seed = seed
        self.blob = blob
        self.pages = pages
        self.registers = registers
        self.gas = gas
        self.pc = pc
        self.heapTop = heapTop
        self.heapLimit = heapLimit
        self.hostSalt = hostSalt
        self.faultsToServe = faultsToServe
        self.maxExits = maxExits
    }

    /// Puts the initial page map, memory contents and heap into `memory` (either engine's).
    public func setUp(_ memory: GuestMemory) {
        for page in pages {
            memory.map(address: page.address, length: GuestMemory.pageSize, access: page.access)
            if !page.contents.isEmpty { memory.initialize(page.contents, at: page.address) }
        }
        memory.setHeap(top: heapTop, limit: heapLimit)
    }

    /// The pages whose access and contents the driver compares: the page map, every page the heap
    /// may grow into, and their neighbours.
    public var watchedPages: [UInt32] {
        var set = Set<UInt32>()
        for p in pages {
            set.insert(p.address)
            set.insert(p.address &+ GuestMemory.pageSize)
            set.insert(p.address &- GuestMemory.pageSize)
        }
        if heapLimit > heapTop {
            var a = UInt64(heapTop) & ~0xFFF
            while a <= UInt64(heapLimit) && a < 1 << 32 {
                set.insert(UInt32(a))
                a += 4096
            }
        }
        return set.sorted()
    }

    /// A human-readable reproducer: seed, initial state and disassembly.
    public var description: String {
        var out = "seed \(seed) (0x\(String(seed, radix: 16)))\n"
        out += "pc \(pc), gas \(gas), heap 0x\(String(heapTop, radix: 16))..0x\(String(heapLimit, radix: 16)), "
        out += "faults served \(faultsToServe), max exits \(maxExits)\n"
        out += "registers: " + registers.enumerated().map { "r\($0.offset)=0x\(String($0.element, radix: 16))" }
            .joined(separator: " ") + "\n"
        out += "pages: " + pages.map { "0x\(String($0.address, radix: 16)):\($0.access)" }.joined(separator: " ") + "\n"
        out += Disassembler.disassemble(blob)
        return out
    }
}
