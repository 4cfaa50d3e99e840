import PVM

/// Options of `Linker.link`.
public struct LinkOptions: Sendable {
    /// Overrides the stack size the guest declares (section `.alcatraz_stack`) and the default.
    public var stackSize: UInt32?
    public init(stackSize: UInt32? = nil) { self.stackSize = stackSize }
}

/// Figures about a link, for `alcatraz link --verbose` and tests.
public struct LinkStatistics: Sendable, Equatable {
    public var riscvInstructions = 0
    public var pvmInstructions = 0
    public var jumpTableEntries = 0
    public var relocations = 0
}

/// `alcatraz link`: turns a static RV64EMAC ELF (linked with `ld.lld --emit-relocs`) into a PVM
/// standard program. See docs/guest-sdk.md for the translation scheme.
public enum Linker {
    /// The default guest stack size when the ELF declares none.
    public static let defaultStackSize: UInt32 = 64 * 1024

    public static func link(elf bytes: [UInt8], options: LinkOptions = LinkOptions()) throws(LinkError) -> StandardProgram {
        try linkWithStatistics(elf: bytes, options: options).program
    }

    public static func linkWithStatistics(elf bytes: [UInt8], options: LinkOptions = LinkOptions())
        throws(LinkError) -> (program: StandardProgram, statistics: LinkStatistics)
    {
        let ctx = try LinkContext(try ELFFile(bytes))
        return try ctx.run(options)
    }
}

/// PVM register of each RISC-V register: x0 is `zero` (handled per instruction), gp/tp and
/// x16–x31 do not exist on the PVM.
let zeroReg: UInt8 = 0xFF, badReg: UInt8 = 0xFE
let regMap: [UInt8] = {
    var m = [UInt8](repeating: badReg, count: 32)
    m[0] = zeroReg
    m[1] = 0; m[2] = 1                       // ra, sp
    m[5] = 2; m[6] = 3; m[7] = 4             // t0–t2
    m[8] = 5; m[9] = 6                       // s0, s1
    for i in 10...15 { m[i] = UInt8(i - 3) } // a0–a5 → r7–r12
    return m
}()
let abiNames = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
                "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"]

final class LinkContext {
    enum SectionClass { case code, readOnly, readWrite, stackSize, other }

    let elf: ELFFile
    var classOf: [SectionClass]
    /// Code: every instruction of every executable section, in address order.
    var insts: [RVInst] = []
    var addrs: [UInt64] = []
    var textStart: UInt64 = 0, textEnd: UInt64 = 0
    /// Instruction index at (address − textStart) / 2, or -1.
    var indexAt: [Int32] = []
    var isTarget: [Bool] = []
    /// Per instruction: 0 none, 1 auipc with PCREL_HI20 (imm = full value), 2 auipc of a CALL pair
    /// (emits nothing), 3 jalr of a CALL pair (imm = target instruction index).
    var fix: [UInt8] = []
    var emitter = Emitter(labels: 0)
    // Data layout.
    var roBase: UInt64 = 0, roSize: UInt64 = 0, rwBase: UInt64 = 0, rwFileSize: UInt64 = 0, rwSize: UInt64 = 0
    var heapBase: UInt64 = 0
    var roImage: [UInt8] = [], rwImage: [UInt8] = []
    var stats = LinkStatistics()

    init(_ elf: ELFFile) throws(LinkError) {
        self.elf = elf
        if elf.flags & 0x6 != 0 {
            throw LinkError(.unsupportedFile, "the ELF uses a hardware floating-point ABI (e_flags 0x\(String(elf.flags, radix: 16))); build with -mabi=lp64e")
        }
        classOf = []
        for s in elf.sections {
            var c = SectionClass.other
            if s.isAlloc && s.size > 0 {
                if s.name == ".alcatraz_stack" { c = .stackSize }
                else if s.isExec { c = .code }
                else if s.isWrite { c = .readWrite }
                else { c = .readOnly }
                if s.type == ELFFile.SHT_INIT_ARRAY || s.type == ELFFile.SHT_FINI_ARRAY || s.type == ELFFile.SHT_PREINIT_ARRAY {
                    throw LinkError(.unsupportedFile, "section '\(s.name)': constructors and destructors (init/fini arrays) are not supported")
                }
                if c == .code && !s.hasBytes {
                    throw LinkError(.malformed, "executable section '\(s.name)' has no contents (SHT_NOBITS)")
                }
            }
            classOf.append(c)
        }
    }

    // MARK: messages

    /// "section+0xoff (address 0x…, in function f+0x…)".
    func location(_ addr: UInt64) -> String {
        var s = "0x" + String(addr, radix: 16)
        if let sec = elf.sections.first(where: { $0.isAlloc && $0.size > 0 && addr >= $0.addr && addr - $0.addr < $0.size }) {
            s = "\(sec.name)+0x\(String(addr - sec.addr, radix: 16)) (address \(s)"
            if let f = elf.symbols.first(where: { $0.type == ELFFile.STT_FUNC && addr >= $0.value && addr - $0.value < max($0.size, 1) }) {
                s += ", in function \(elf.name(of: f))+0x\(String(addr - f.value, radix: 16))"
            }
            s += ")"
        }
        return s
    }

    func instructionError(_ k: Int, _ what: String, _ reason: String) -> LinkError {
        LinkError(.unsupportedInstruction, "unsupported instruction: \(what) at \(location(addrs[k])): \(reason)")
    }

    /// The instruction's bytes as a hex number, for messages ("0x00018513").
    func encoding(_ k: Int) -> String {
        guard let sec = elf.sections.first(where: { classOf[$0.index] == .code && addrs[k] >= $0.addr && addrs[k] - $0.addr < $0.size }) else { return "?" }
        let b = elf.contents(sec)
        let p = b.startIndex + Int(addrs[k] - sec.addr)
        let n = min(Int(insts[k].size), b.endIndex - p)
        var v: UInt32 = 0
        for i in 0..<n { v |= UInt32(b[p + i]) << (8 * UInt32(i)) }
        return n == 2 ? hex16(UInt16(truncatingIfNeeded: v)) : hex32(v)
    }

    // MARK: the link

    func run(_ options: LinkOptions) throws(LinkError) -> (program: StandardProgram, statistics: LinkStatistics) {
        try layoutData()
        try decodeCode()
        if !elf.sections.contains(where: { $0.type == ELFFile.SHT_RELA }),
           let k = insts.indices.first(where: { [.auipc, .lui, .jal, .beq, .bne, .blt, .bge, .bltu, .bgeu].contains(insts[$0].op) }) {
            throw LinkError(.relocation, "the ELF has no relocations, but `\(insts[k].op.mnemonic)` at \(location(addrs[k])) needs one: link with ld.lld --emit-relocs (scripts/build-guest.sh does)")
        }
        emitter = Emitter(labels: insts.count + 1)
        try applyRelocations()
        try markControlFlow()
        try emitCode()
        let blob = try emitter.build()
        stats.pvmInstructions = emitter.insts.count
        stats.jumpTableEntries = emitter.jumpTable.count
        var stack = Linker.defaultStackSize
        if let i = classOf.firstIndex(of: .stackSize) {
            let s = elf.sections[i]
            guard s.hasBytes, s.size >= 4 else {
                throw LinkError(.malformed, "section '.alcatraz_stack' must hold a 4-byte stack size (ALCATRAZ_STACK_SIZE), it has \(s.size) bytes")
            }
            let b = elf.contents(s)
            let i0 = b.startIndex
            stack = UInt32(b[i0]) | UInt32(b[i0 + 1]) << 8 | UInt32(b[i0 + 2]) << 16 | UInt32(b[i0 + 3]) << 24
        }
        if let s = options.stackSize { stack = s }
        guard stack < 1 << 24 else { throw LinkError(.layout, "stack size \(stack) bytes: a standard program allows at most 16 MiB − 1") }
        let extraBytes = rwSize > GuestMemoryLayout.pageAlignUp(rwFileSize) ? rwSize - GuestMemoryLayout.pageAlignUp(rwFileSize) : 0
        let extraPages = (extraBytes + 4095) / 4096
        guard extraPages < 1 << 16 else { throw LinkError(.layout, "zero-initialised data needs \(extraPages) pages, a standard program allows at most 65535") }
        guard GuestMemoryLayout.fits(readOnly: roSize, readWrite: rwFileSize, heapPages: extraPages, stack: UInt64(stack)) else {
            throw LinkError(.layout, "the program does not fit the 4 GiB guest address space (read-only \(roSize), read-write \(rwFileSize) bytes, \(extraPages) heap pages, stack \(stack))")
        }
        let program = StandardProgram(readOnlyData: roImage, readWriteData: rwImage, extraHeapPages: UInt32(extraPages),
                                      stackSize: stack, blob: blob)
        return (program, stats)
    }

    // MARK: data

    func layoutData() throws(LinkError) {
        func span(_ c: SectionClass) -> (lo: UInt64, hi: UInt64, fileHi: UInt64)? {
            var lo = UInt64.max, hi: UInt64 = 0, fileHi: UInt64 = 0
            for (i, s) in elf.sections.enumerated() where classOf[i] == c {
                let (end, o) = s.addr.addingReportingOverflow(s.size)
                if o { return (0, UInt64.max, 0) }
                lo = min(lo, s.addr); hi = max(hi, end)
                if s.hasBytes { fileHi = max(fileHi, end) }
            }
            return lo == UInt64.max ? nil : (lo, hi, fileHi)
        }
        let limit: UInt64 = 1 << 24
        if let ro = span(.readOnly) {
            roBase = ro.lo & ~0xFFF
            roSize = ro.hi &- roBase
            guard roSize <= limit else {
                throw LinkError(.layout, "the read-only sections span \(roSize) bytes (0x\(String(roBase, radix: 16)) …); at most 16 MiB are allowed")
            }
        }
        heapBase = 0x20000 + (roSize + 0xFFFF) / 0x10000 * 0x10000
        if let rw = span(.readWrite) {
            rwBase = rw.lo & ~0xFFF
            rwSize = rw.hi &- rwBase
            rwFileSize = rw.fileHi > rwBase ? rw.fileHi - rwBase : 0
            guard rwSize <= 1 << 28 else {
                throw LinkError(.layout, "the read-write sections span \(rwSize) bytes (0x\(String(rwBase, radix: 16)) …); at most 256 MiB are allowed")
            }
            guard rwFileSize <= limit else {
                throw LinkError(.layout, "the initialised read-write data spans \(rwFileSize) bytes; at most 16 MiB are allowed")
            }
        }
        roImage = [UInt8](repeating: 0, count: Int(roSize))
        rwImage = [UInt8](repeating: 0, count: Int(rwFileSize))
        for (i, s) in elf.sections.enumerated() where s.hasBytes {
            switch classOf[i] {
            case .readOnly: roImage.replaceSubrange(Int(s.addr - roBase)..<Int(s.addr - roBase + s.size), with: elf.contents(s))
            case .readWrite: rwImage.replaceSubrange(Int(s.addr - rwBase)..<Int(s.addr - rwBase + s.size), with: elf.contents(s))
            default: break
            }
        }
    }

    /// The guest address of ELF address `addr` inside section `sec` (a data section).
    func dataAddress(_ addr: UInt64, section sec: Int) -> UInt64 {
        classOf[sec] == .readOnly ? 0x10000 &+ (addr &- roBase) : heapBase &+ (addr &- rwBase)
    }

    // MARK: code

    func decodeCode() throws(LinkError) {
        var codeSections = elf.sections.filter { classOf[$0.index] == .code }
        guard !codeSections.isEmpty else { throw LinkError(.unsupportedFile, "the ELF has no executable section: there is no code to translate") }
        codeSections.sort { $0.addr < $1.addr }
        textStart = codeSections[0].addr
        textEnd = textStart
        for s in codeSections {
            let (end, o) = s.addr.addingReportingOverflow(s.size)
            guard !o, s.addr >= textEnd else {
                throw LinkError(.malformed, "executable section '\(s.name)' overlaps the previous one or wraps around")
            }
            textEnd = end
        }
        let codeBytes = codeSections.reduce(UInt64(0)) { $0 + $1.size }
        guard textEnd - textStart <= 1 << 28, textEnd - textStart <= codeBytes + (1 << 20) else {
            throw LinkError(.layout, "the executable sections span \(textEnd - textStart) bytes for \(codeBytes) bytes of code; at most 256 MiB with gaps of at most 1 MiB are allowed")
        }
        guard textStart & 1 == 0 else { throw LinkError(.malformed, "code starts at the odd address 0x\(String(textStart, radix: 16))") }
        indexAt = [Int32](repeating: -1, count: Int((textEnd - textStart) / 2) + 1)
        let estimate = Int(textEnd - textStart) / 3
        insts.reserveCapacity(estimate)
        addrs.reserveCapacity(estimate)
        for s in codeSections {
            let bytes = elf.contents(s)
            let base = bytes.startIndex
            let n = bytes.count
            var p = 0
            while p < n {
                let addr = s.addr + UInt64(p)
                guard p + 2 <= n else {
                    throw LinkError(.malformed, "truncated instruction at \(s.name)+0x\(String(p, radix: 16)): one byte left in the section")
                }
                let lo = UInt16(bytes[base + p]) | UInt16(bytes[base + p + 1]) << 8
                let result: Result<RVInst, RVDecodeFailure>
                if lo & 3 != 3 {
                    result = RVDecoder.decode16(lo)
                } else {
                    guard p + 4 <= n else {
                        throw LinkError(.malformed, "truncated instruction at \(s.name)+0x\(String(p, radix: 16)): a 4-byte instruction with only \(n - p) bytes left in the section")
                    }
                    if lo & 0x1F == 0x1F {
                        insts.append(RVInst(op: .unimp)); addrs.append(addr)
                        throw instructionError(insts.count - 1, hex16(lo), "instructions longer than 32 bits do not exist in RV64")
                    }
                    let w = UInt32(lo) | UInt32(bytes[base + p + 2]) << 16 | UInt32(bytes[base + p + 3]) << 24
                    result = RVDecoder.decode32(w)
                }
                indexAt[Int((addr - textStart) / 2)] = Int32(insts.count)
                addrs.append(addr)
                switch result {
                case .success(let ins):
                    insts.append(ins)
                    try checkRegisters(insts.count - 1)
                    p += Int(ins.size)
                case .failure(let f):
                    insts.append(RVInst(op: .unimp))
                    throw instructionError(insts.count - 1, f.what, f.reason)
                }
            }
        }
        isTarget = [Bool](repeating: false, count: insts.count + 1)
        fix = [UInt8](repeating: 0, count: insts.count)
        stats.riscvInstructions = insts.count
    }

    /// Rejects registers the PVM does not have (gp, tp, x16–x31).
    func checkRegisters(_ k: Int) throws(LinkError) {
        let ins = insts[k]
        let used: (rd: Bool, rs1: Bool, rs2: Bool)
        switch ins.op {
        case .lui, .auipc, .jal: used = (true, false, false)
        case .beq, .bne, .blt, .bge, .bltu, .bgeu, .sb, .sh, .sw, .sd: used = (false, true, true)
        case .jalr, .lb, .lh, .lw, .ld, .lbu, .lhu, .lwu, .addi, .slti, .sltiu, .xori, .ori, .andi, .slli, .srli,
             .srai, .addiw, .slliw, .srliw, .sraiw, .rori, .roriw, .clz, .ctz, .cpop, .clzw, .ctzw, .cpopw, .sextb,
             .sexth, .zexth, .rev8, .lr, .sbrk:
            used = (true, true, false)
        case .nop, .unimp, .hostcall: used = (false, false, false)
        default: used = (true, true, true)
        }
        let bad: UInt8? = used.rd && regMap[Int(ins.rd)] == badReg ? ins.rd
            : used.rs1 && regMap[Int(ins.rs1)] == badReg ? ins.rs1
            : used.rs2 && regMap[Int(ins.rs2)] == badReg ? ins.rs2 : nil
        if let r = bad {
            let why = r == 3 ? "gp (x3), which the PVM does not provide (do not use __global_pointer$ or linker relaxation)"
                : r == 4 ? "tp (x4), which the PVM does not provide (thread-local storage is not supported)"
                : "\(abiNames[Int(r)]) (x\(r)), which does not exist in RV64E (build with -march=rv64emac -mabi=lp64e)"
            throw instructionError(k, "`\(ins.op.mnemonic)` (\(encoding(k)))", "uses register \(why)")
        }
    }

    /// The instruction index at `addr`, or nil when `addr` is not the start of an instruction.
    func instruction(at addr: UInt64) -> Int? {
        guard addr >= textStart, addr < textEnd, addr & 1 == 0 else { return nil }
        let i = indexAt[Int((addr - textStart) / 2)]
        return i >= 0 ? Int(i) : nil
    }

    // MARK: relocations

    enum Resolved {
        /// A code address: the instruction index (its jump address is what the guest sees).
        case code(Int)
        /// A data or absolute value, already translated to the guest layout.
        case value(UInt64)
    }

    /// S + A of a relocation, translated to the guest: data addresses to the PVM layout, code
    /// addresses to instruction indices.
    func resolve(_ r: ELFFile.Rela, at siteText: @autoclosure () -> String) throws(LinkError) -> Resolved {
        var site: String { siteText() }
        guard Int(r.symbol) < max(elf.symbols.count, 1) else {
            throw LinkError(.malformed, "relocation \(RV.name(r.type)) at \(site) names symbol \(r.symbol), but the symbol table has \(elf.symbols.count)")
        }
        if r.symbol == 0 { return .value(UInt64(bitPattern: r.addend)) }
        let sym = elf.symbols[Int(r.symbol)]
        if sym.shndx == ELFFile.SHN_UNDEF || sym.shndx == ELFFile.SHN_ABS {
            return .value(sym.value &+ UInt64(bitPattern: r.addend))
        }
        guard sym.shndx < ELFFile.SHN_LORESERVE, Int(sym.shndx) < elf.sections.count else {
            throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site): symbol '\(elf.name(of: sym))' is in the unsupported section index \(sym.shndx)")
        }
        let sec = Int(sym.shndx)
        let s = sym.type == ELFFile.STT_SECTION ? elf.sections[sec].addr : sym.value
        let target = s &+ UInt64(bitPattern: r.addend)
        var name: String { let n = elf.name(of: sym); return n.isEmpty ? elf.sections[sec].name : n }
        switch classOf[sec] {
        case .code:
            guard let k = instruction(at: target) else {
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site) refers to code address 0x\(String(target, radix: 16)) (\(name)\(r.addend != 0 ? "+\(r.addend)" : "")), which is not the start of an instruction")
            }
            return .code(k)
        case .readOnly, .readWrite:
            return .value(dataAddress(s, section: sec) &+ UInt64(bitPattern: r.addend))
        case .stackSize, .other:
            throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site) refers to '\(name)' in section '\(elf.sections[sec].name)', which is not loaded into the guest")
        }
    }

    /// The value the guest sees for a resolved target: a code address becomes its jump address.
    func guestValue(_ t: Resolved) -> UInt64 {
        switch t {
        case .code(let k): isTarget[k] = true; return emitter.jumpAddress(k)
        case .value(let v): return v
        }
    }

    func applyRelocations() throws(LinkError) {
        var pcrelValues: [UInt64: UInt64] = [:]   // auipc address → value, for the PCREL_LO12 pass
        var pcrelLo: [ELFFile.Rela] = []
        for r in elf.relocations {
            let relaSection = elf.sections[r.section]
            guard Int(relaSection.info) < elf.sections.count else {
                throw LinkError(.malformed, "relocation section '\(relaSection.name)' applies to section \(relaSection.info), which does not exist")
            }
            let targetSection = Int(relaSection.info)
            let sec = elf.sections[targetSection]
            if r.type == RV.RELAX || r.type == RV.ALIGN || r.type == RV.NONE { continue }
            stats.relocations += 1
            var site: String { "\(sec.name)+0x\(String(r.offset &- sec.addr, radix: 16))" }
            switch classOf[targetSection] {
            case .other, .stackSize:
                continue  // debug information and other unloaded sections
            case .readOnly, .readWrite:
                try applyDataRelocation(r, section: targetSection, site: site)
                continue
            case .code:
                break
            }
            guard let k = instruction(at: r.offset) else {
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site) is not at the start of an instruction")
            }
            let op = insts[k].op
            func expect(_ ok: Bool, _ what: String) throws(LinkError) {
                if !ok { throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])) is on `\(op.mnemonic)`, expected \(what)") }
            }
            switch r.type {
            case RV.BRANCH, RV.JAL, RV.RVC_BRANCH, RV.RVC_JUMP:
                // Already resolved by the static link: the instruction's own offset is used. Check it.
                let t = try resolve(r, at: site)
                if case .code(let target) = t {
                    let own = UInt64(bitPattern: Int64(bitPattern: addrs[k]) &+ insts[k].imm)
                    guard own == addrs[target] else {
                        throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])) points to 0x\(String(addrs[target], radix: 16)) but the instruction jumps to 0x\(String(own, radix: 16))")
                    }
                }
            case RV.CALL, RV.CALL_PLT:
                try expect(op == .auipc, "auipc (of an auipc+jalr call pair)")
                guard k + 1 < insts.count, insts[k + 1].op == .jalr, insts[k + 1].size == 4, insts[k + 1].rs1 == insts[k].rd else {
                    throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])): the auipc is not followed by a jalr through its register")
                }
                guard case .code(let target) = try resolve(r, at: site) else {
                    throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])) calls an address outside the code")
                }
                fix[k] = 2
                fix[k + 1] = 3
                insts[k + 1].imm = Int64(target)
                isTarget[target] = true
            case RV.HI20:
                try expect(op == .lui, "lui")
                let v = guestValue(try resolve(r, at: site))
                guard Int64(bitPattern: v) >= -0x8000_0000 && Int64(bitPattern: v) < 0x7FFF_F800 else {
                    throw LinkError(.relocation, "relocation R_RISCV_HI20 at \(location(addrs[k])): the guest address 0x\(String(v, radix: 16)) does not fit lui+addi")
                }
                insts[k].imm = Int64(Int32(truncatingIfNeeded: (v &+ 0x800) & ~0xFFF))
            case RV.LO12_I, RV.LO12_S:
                let isStore = op.isStore
                try expect(r.type == RV.LO12_S ? isStore : !isStore && op != .lui && op != .auipc, r.type == RV.LO12_S ? "a store" : "an I-type instruction")
                let v = guestValue(try resolve(r, at: site))
                insts[k].imm = (Int64(v & 0xFFF) << 52) >> 52
            case RV.PCREL_HI20:
                try expect(op == .auipc, "auipc")
                let v = guestValue(try resolve(r, at: site))
                pcrelValues[addrs[k]] = v
                fix[k] = 1
                insts[k].imm = Int64(bitPattern: v)
            case RV.PCREL_LO12_I, RV.PCREL_LO12_S:
                pcrelLo.append(r)
            case RV.GOT_HI20:
                throw LinkError(.relocation, "relocation R_RISCV_GOT_HI20 at \(location(addrs[k])): a GOT access; build without -fpic/-fpie (the SDK uses -fno-pic)")
            case RV.R32, RV.R64:
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])): data inside an executable section is not supported")
            default:
                throw LinkError(.relocation, "unsupported relocation \(RV.name(r.type)) at \(location(addrs[k])) (on `\(op.mnemonic)`)")
            }
        }
        for r in pcrelLo {
            let sec = elf.sections[Int(elf.sections[r.section].info)]
            var site: String { "\(sec.name)+0x\(String(r.offset &- sec.addr, radix: 16))" }
            guard let k = instruction(at: r.offset) else {
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site) is not at the start of an instruction")
            }
            // The symbol labels the auipc that carries the PCREL_HI20.
            guard Int(r.symbol) < elf.symbols.count, r.symbol != 0 else {
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])) has no symbol for its auipc")
            }
            let sym = elf.symbols[Int(r.symbol)]
            let hiAddr = (sym.type == ELFFile.STT_SECTION && Int(sym.shndx) < elf.sections.count ? elf.sections[Int(sym.shndx)].addr : sym.value) &+ UInt64(bitPattern: r.addend)
            guard pcrelValues[hiAddr] != nil else {
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])) pairs with 0x\(String(hiAddr, radix: 16)), which has no R_RISCV_PCREL_HI20")
            }
            let isStore = insts[k].op.isStore
            guard isStore == (r.type == RV.PCREL_LO12_S), insts[k].op != .lui, insts[k].op != .auipc else {
                throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(location(addrs[k])) is on `\(insts[k].op.mnemonic)`")
            }
            // The auipc now loads the full address; its partner adds nothing.
            insts[k].imm = 0
        }
        // An auipc+jalr pair through the same register with no relocation (an assembler-resolved
        // call within one section, e.g. built with -mno-relax): the two instructions alone
        // determine the target, exactly as the hardware computes it.
        for k in 0..<insts.count where insts[k].op == .auipc && fix[k] == 0 {
            guard k + 1 < insts.count, insts[k + 1].op == .jalr, insts[k + 1].size == 4, insts[k + 1].rs1 == insts[k].rd,
                  insts[k].rd != 0 else { continue }
            let t = UInt64(bitPattern: Int64(bitPattern: addrs[k]) &+ insts[k].imm &+ insts[k + 1].imm)
            guard let target = instruction(at: t) else {
                throw LinkError(.relocation, "auipc+jalr at \(location(addrs[k])) jumps to 0x\(String(t, radix: 16)), which is not the start of an instruction")
            }
            fix[k] = 2
            fix[k + 1] = 3
            insts[k + 1].imm = Int64(target)
            isTarget[target] = true
        }
    }

    func applyDataRelocation(_ r: ELFFile.Rela, section sec: Int, site siteText: @autoclosure () -> String) throws(LinkError) {
        var site: String { siteText() }
        let s = elf.sections[sec]
        let width: UInt64
        switch r.type {
        case RV.R64: width = 8
        case RV.R32: width = 4
        default:
            throw LinkError(.relocation, "unsupported relocation \(RV.name(r.type)) in data at \(site)\(r.type >= 33 && r.type <= 40 ? " (label differences, e.g. position-independent jump tables: build with -fno-pic)" : "")")
        }
        guard r.offset >= s.addr, r.offset &- s.addr <= s.size, s.size - (r.offset &- s.addr) >= width else {
            throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site) lies outside section '\(s.name)'")
        }
        guard s.hasBytes else { throw LinkError(.relocation, "relocation \(RV.name(r.type)) at \(site) is in a zero-initialised (NOBITS) section") }
        let v = guestValue(try resolve(r, at: site))
        if width == 4 && v > UInt64(UInt32.max) {
            throw LinkError(.relocation, "relocation R_RISCV_32 at \(site): the guest value 0x\(String(v, radix: 16)) does not fit 32 bits")
        }
        let at = Int(dataAddress(r.offset, section: sec) - (classOf[sec] == .readOnly ? 0x10000 : heapBase))
        for i in 0..<Int(width) {
            let b = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))
            if classOf[sec] == .readOnly { roImage[at + i] = b } else { rwImage[at + i] = b }
        }
    }

    // MARK: control flow

    func markControlFlow() throws(LinkError) {
        guard let entry = instruction(at: elf.entry) else {
            let hint = elf.symbols.contains { elf.name(of: $0) == "alcatraz_start" } ? ""
                : " (there is no symbol alcatraz_start: define the entry point with ALCATRAZ_ENTRY(fn) from alcatraz.h)"
            throw LinkError(.unsupportedFile, "the entry point 0x\(String(elf.entry, radix: 16)) is not the start of an instruction in an executable section\(hint)")
        }
        isTarget[entry] = true
        for k in 0..<insts.count {
            let ins = insts[k]
            switch ins.op {
            case .beq, .bne, .blt, .bge, .bltu, .bgeu, .jal:
                let t = UInt64(bitPattern: Int64(bitPattern: addrs[k]) &+ ins.imm)
                guard let target = instruction(at: t) else {
                    throw LinkError(.relocation, "`\(ins.op.mnemonic)` at \(location(addrs[k])) jumps to 0x\(String(t, radix: 16)), which is not the start of an instruction")
                }
                isTarget[target] = true
                if ins.op == .jal && ins.rd != 0 { isTarget[k + 1] = true }
            case .jalr:
                if ins.rd != 0 { isTarget[k + 1] = true }
            default: break
            }
        }
    }

    // MARK: emission

    func emitCode() throws(LinkError) {
        var e = emitter
        defer { emitter = e }
        let entry = instruction(at: elf.entry)!
        if entry != 0 { e.jump(entry) }
        var k = 0
        while k < insts.count {
            if isTarget[k] && !e.lastIsTerminator { e.op0(.fallthrough) }
            e.bind(k)
            // lui rd, hi + addi(w) rd, rd, lo (a constant or an address): one load_imm.
            let ins = insts[k]
            if ins.op == .lui, k + 1 < insts.count, !isTarget[k + 1], regMap[Int(ins.rd)] != zeroReg,
               insts[k + 1].rd == ins.rd, insts[k + 1].rs1 == ins.rd,
               insts[k + 1].op == .addi || insts[k + 1].op == .addiw {
                var v = ins.imm &+ insts[k + 1].imm
                if insts[k + 1].op == .addiw { v = Int64(Int32(truncatingIfNeeded: v)) }
                e.loadConstant(regMap[Int(ins.rd)], UInt64(bitPattern: v))
                e.bind(k + 1)
                k += 2
                continue
            }
            try translate(k, &e)
            k += 1
        }
        if isTarget[insts.count] && !e.lastIsTerminator { e.op0(.fallthrough) }
        e.bind(insts.count)
        if e.insts.last?.op != .trap { e.op0(.trap) }
    }

    func translate(_ k: Int, _ e: inout Emitter) throws(LinkError) {
        let ins = insts[k]
        let rd = regMap[Int(ins.rd)], rs1 = regMap[Int(ins.rs1)], rs2 = regMap[Int(ins.rs2)]
        let imm = UInt64(bitPattern: ins.imm)
        let z = zeroReg
        func unsupported(_ why: String) -> LinkError { instructionError(k, "`\(ins.op.mnemonic)` (\(encoding(k)))", why) }

        switch ins.op {
        case .nop: return
        case .unimp: e.op0(.trap); return
        case .hostcall: e.imm(.ecalli, imm); return
        case .sbrk:
            guard rd != zeroReg, rs1 != zeroReg else {
                throw unsupported("sbrk needs a destination and a size register (not zero)")
            }
            e.rr(.sbrk, rd, rs1)
            return
        case .lr, .sc, .amo:
            try translateAtomic(ins, rd, rs1, rs2, &e, unsupported)
            return
        case .lui:
            if rd != z { e.ri(.load_imm, rd, imm) }
            return
        case .auipc:
            switch fix[k] {
            case 1: if rd != z { e.loadConstant(rd, imm) }
            case 2: break
            default: throw unsupported("auipc without an R_RISCV_PCREL_HI20 or R_RISCV_CALL relocation: link with ld.lld --emit-relocs (code addresses are not data on the PVM)")
            }
            return
        case .jal:
            let target = instruction(at: UInt64(bitPattern: Int64(bitPattern: addrs[k]) &+ ins.ins_imm))!
            if rd == z { e.jump(target) } else {
                e.emit(Emitter.Inst(op: .load_imm_jump, a: rd, immX: e.jumpAddress(k + 1), target: Int32(target)))
            }
            return
        case .jalr:
            if fix[k] == 3 {
                let target = Int(ins.imm)
                if rd == z { e.jump(target) } else {
                    e.emit(Emitter.Inst(op: .load_imm_jump, a: rd, immX: e.jumpAddress(k + 1), target: Int32(target)))
                }
                return
            }
            guard rs1 != z else { throw unsupported("a jump to an absolute code address (jalr through zero)") }
            if rd == z { e.ri(.jump_ind, rs1, imm) } else { e.rrii(.load_imm_jump_ind, rd, rs1, e.jumpAddress(k + 1), imm) }
            return
        case .beq, .bne, .blt, .bge, .bltu, .bgeu:
            let target = instruction(at: UInt64(bitPattern: Int64(bitPattern: addrs[k]) &+ ins.imm))!
            translateBranch(ins.op, rs1, rs2, target, &e)
            return
        case .lb, .lh, .lw, .ld, .lbu, .lhu, .lwu:
            if rd == z { return }
            let (ind, abs): (Opcode, Opcode)
            switch ins.op {
            case .lb: (ind, abs) = (.load_ind_i8, .load_i8)
            case .lbu: (ind, abs) = (.load_ind_u8, .load_u8)
            case .lh: (ind, abs) = (.load_ind_i16, .load_i16)
            case .lhu: (ind, abs) = (.load_ind_u16, .load_u16)
            case .lw: (ind, abs) = (.load_ind_i32, .load_i32)
            case .lwu: (ind, abs) = (.load_ind_u32, .load_u32)
            default: (ind, abs) = (.load_ind_u64, .load_u64)
            }
            if rs1 == z { e.ri(abs, rd, imm) } else { e.rri(ind, rd, rs1, imm) }
            return
        case .sb, .sh, .sw, .sd:
            let (ind, abs, immInd, immAbs): (Opcode, Opcode, Opcode, Opcode)
            switch ins.op {
            case .sb: (ind, abs, immInd, immAbs) = (.store_ind_u8, .store_u8, .store_imm_ind_u8, .store_imm_u8)
            case .sh: (ind, abs, immInd, immAbs) = (.store_ind_u16, .store_u16, .store_imm_ind_u16, .store_imm_u16)
            case .sw: (ind, abs, immInd, immAbs) = (.store_ind_u32, .store_u32, .store_imm_ind_u32, .store_imm_u32)
            default: (ind, abs, immInd, immAbs) = (.store_ind_u64, .store_u64, .store_imm_ind_u64, .store_imm_u64)
            }
            switch (rs1 == z, rs2 == z) {
            case (false, false): e.rri(ind, rs2, rs1, imm)
            case (false, true): e.rii(immInd, rs1, imm, 0)
            case (true, false): e.ri(abs, rs2, imm)
            case (true, true): e.ii(immAbs, imm, 0)
            }
            return
        default: break
        }

        if rd == z { return }  // every remaining instruction only writes rd
        switch ins.op {
        // Register–immediate.
        case .addi:
            if rs1 == z { e.ri(.load_imm, rd, imm) } else if imm == 0 {
                if rd != rs1 { e.rr(.move_reg, rd, rs1) }
            } else { e.rri(.add_imm_64, rd, rs1, imm) }
        case .addiw:
            if rs1 == z { e.ri(.load_imm, rd, imm) } else { e.rri(.add_imm_32, rd, rs1, imm) }
        case .xori, .ori:
            if rs1 == z { e.ri(.load_imm, rd, imm) } else { e.rri(ins.op == .xori ? .xor_imm : .or_imm, rd, rs1, imm) }
        case .andi:
            if rs1 == z { e.ri(.load_imm, rd, 0) } else { e.rri(.and_imm, rd, rs1, imm) }
        case .slti:
            if rs1 == z { e.ri(.load_imm, rd, 0 < ins.imm ? 1 : 0) } else { e.rri(.set_lt_s_imm, rd, rs1, imm) }
        case .sltiu:
            if rs1 == z { e.ri(.load_imm, rd, imm != 0 ? 1 : 0) } else { e.rri(.set_lt_u_imm, rd, rs1, imm) }
        case .slli, .srli, .srai, .slliw, .srliw, .sraiw, .rori, .roriw:
            if rs1 == z { e.ri(.load_imm, rd, 0); return }
            let op: Opcode
            switch ins.op {
            case .slli: op = .shlo_l_imm_64
            case .srli: op = .shlo_r_imm_64
            case .srai: op = .shar_r_imm_64
            case .slliw: op = .shlo_l_imm_32
            case .srliw: op = .shlo_r_imm_32
            case .sraiw: op = .shar_r_imm_32
            case .rori: op = .rot_r_64_imm
            default: op = .rot_r_32_imm
            }
            e.rri(op, rd, rs1, imm)
        // Zbb unary.
        case .clz, .ctz, .cpop, .clzw, .ctzw, .cpopw, .sextb, .sexth, .zexth, .rev8:
            let op: Opcode
            switch ins.op {
            case .clz: op = .leading_zero_bits_64
            case .ctz: op = .trailing_zero_bits_64
            case .cpop: op = .count_set_bits_64
            case .clzw: op = .leading_zero_bits_32
            case .ctzw: op = .trailing_zero_bits_32
            case .cpopw: op = .count_set_bits_32
            case .sextb: op = .sign_extend_8
            case .sexth: op = .sign_extend_16
            case .zexth: op = .zero_extend_16
            default: op = .reverse_bytes
            }
            if rs1 == z { e.ri(.load_imm, rd, 0); e.rr(op, rd, rd) } else { e.rr(op, rd, rs1) }
        default:
            try translateRegReg(ins.op, rd, rs1, rs2, &e, unsupported)
        }
    }

    /// The A extension on a single-threaded machine: `lr` is a load, `sc` a store that always
    /// succeeds (rd ← 0), and an AMO a load, the operation and a store. The AMO needs two scratch
    /// registers: two registers it does not use are saved just below sp (memory the ABI leaves
    /// free: there are no signal handlers on the PVM) and restored afterwards.
    func translateAtomic(_ ins: RVInst, _ rd: UInt8, _ rs1: UInt8, _ rs2: UInt8, _ e: inout Emitter,
                         _ unsupported: (String) -> LinkError) throws(LinkError) {
        let z = zeroReg
        let double = ins.imm & 0x100 != 0
        let f5 = ins.imm & 0x1F
        guard rs1 != z else { throw unsupported("an atomic access to absolute address 0 (through zero)") }
        let load: Opcode = double ? .load_ind_u64 : .load_ind_i32
        let store: Opcode = double ? .store_ind_u64 : .store_ind_u32
        switch ins.op {
        case .lr:
            if rd != z { e.rri(load, rd, rs1, 0) }
            return
        case .sc:
            if rs2 == z { e.rii(double ? .store_imm_ind_u64 : .store_imm_ind_u32, rs1, 0, 0) } else { e.rri(store, rs2, rs1, 0) }
            if rd != z { e.ri(.load_imm, rd, 0) }
            return
        default: break
        }
        let sp: UInt8 = 1
        let temps = [UInt8](0...12).filter { $0 != sp && $0 != rd && $0 != rs1 && $0 != rs2 }
        let (old, new) = (temps[0], temps[1])
        e.rri(.store_ind_u64, old, sp, UInt64(bitPattern: -8))
        e.rri(.store_ind_u64, new, sp, UInt64(bitPattern: -16))
        e.rri(load, old, rs1, 0)
        if rs2 == z { e.ri(.load_imm, new, 0) } else if double { e.rr(.move_reg, new, rs2) } else { e.rri(.add_imm_32, new, rs2, 0) }
        switch f5 {
        case 1: break                                                   // amoswap
        case 0: e.rrr(double ? .add_64 : .add_32, new, old, new)        // amoadd
        case 4: e.rrr(.xor, new, old, new)                              // amoxor
        case 12: e.rrr(.and, new, old, new)                             // amoand
        case 8: e.rrr(.or, new, old, new)                               // amoor
        case 16: e.rrr(.min, new, old, new)                             // amomin (32-bit values are sign-extended)
        case 20: e.rrr(.max, new, old, new)                             // amomax
        case 24: e.rrr(.min_u, new, old, new)                           // amominu (sign extension keeps the u32 order)
        default: e.rrr(.max_u, new, old, new)                           // amomaxu
        }
        e.rri(store, new, rs1, 0)
        if rd != z { e.rr(.move_reg, rd, old) }
        e.rri(.load_ind_u64, old, sp, UInt64(bitPattern: -8))
        e.rri(.load_ind_u64, new, sp, UInt64(bitPattern: -16))
    }

    func translateBranch(_ op: RVOp, _ a: UInt8, _ b: UInt8, _ target: Int, _ e: inout Emitter) {
        let z = zeroReg
        switch (a == z, b == z) {
        case (false, false):
            let pop: Opcode
            switch op {
            case .beq: pop = .branch_eq
            case .bne: pop = .branch_ne
            case .blt: pop = .branch_lt_s
            case .bge: pop = .branch_ge_s
            case .bltu: pop = .branch_lt_u
            default: pop = .branch_ge_u
            }
            e.branch(pop, a, b, target)
        case (false, true):  // a ? 0
            switch op {
            case .beq: e.branchImm(.branch_eq_imm, a, 0, target)
            case .bne: e.branchImm(.branch_ne_imm, a, 0, target)
            case .blt: e.branchImm(.branch_lt_s_imm, a, 0, target)
            case .bge: e.branchImm(.branch_ge_s_imm, a, 0, target)
            case .bltu: break                      // never taken
            default: e.jump(target)                // a >=u 0: always
            }
        case (true, false):  // 0 ? b
            switch op {
            case .beq: e.branchImm(.branch_eq_imm, b, 0, target)
            case .bne: e.branchImm(.branch_ne_imm, b, 0, target)
            case .blt: e.branchImm(.branch_gt_s_imm, b, 0, target)   // 0 < b
            case .bge: e.branchImm(.branch_le_s_imm, b, 0, target)   // 0 >= b
            case .bltu: e.branchImm(.branch_ne_imm, b, 0, target)    // 0 <u b
            default: e.branchImm(.branch_eq_imm, b, 0, target)       // 0 >=u b
            }
        case (true, true):
            switch op {
            case .beq, .bge, .bgeu: e.jump(target)
            default: break
            }
        }
    }

    func translateRegReg(_ op: RVOp, _ rd: UInt8, _ a: UInt8, _ b: UInt8, _ e: inout Emitter,
                         _ unsupported: (String) -> LinkError) throws(LinkError) {
        let z = zeroReg
        let pop: Opcode
        switch op {
        case .add: pop = .add_64
        case .sub: pop = .sub_64
        case .sll: pop = .shlo_l_64
        case .srl: pop = .shlo_r_64
        case .sra: pop = .shar_r_64
        case .slt: pop = .set_lt_s
        case .sltu: pop = .set_lt_u
        case .xor: pop = .xor
        case .or: pop = .or
        case .and: pop = .and
        case .addw: pop = .add_32
        case .subw: pop = .sub_32
        case .sllw: pop = .shlo_l_32
        case .srlw: pop = .shlo_r_32
        case .sraw: pop = .shar_r_32
        case .mul: pop = .mul_64
        case .mulh: pop = .mul_upper_s_s
        case .mulhsu: pop = .mul_upper_s_u
        case .mulhu: pop = .mul_upper_u_u
        case .div: pop = .div_s_64
        case .divu: pop = .div_u_64
        case .rem: pop = .rem_s_64
        case .remu: pop = .rem_u_64
        case .mulw: pop = .mul_32
        case .divw: pop = .div_s_32
        case .divuw: pop = .div_u_32
        case .remw: pop = .rem_s_32
        case .remuw: pop = .rem_u_32
        case .andn: pop = .and_inv
        case .orn: pop = .or_inv
        case .xnor: pop = .xnor
        case .min: pop = .min
        case .minu: pop = .min_u
        case .max: pop = .max
        case .maxu: pop = .max_u
        case .rol: pop = .rot_l_64
        case .ror: pop = .rot_r_64
        case .rolw: pop = .rot_l_32
        case .rorw: pop = .rot_r_32
        default: throw unsupported("internal error: no translation")
        }
        if a != z && b != z { e.rrr(pop, rd, a, b); return }
        let is32: Bool = [.addw, .subw, .sllw, .srlw, .sraw, .mulw, .divw, .divuw, .remw, .remuw, .rolw, .rorw].contains(op)
        // Copies of the other operand (sign-extended for the 32-bit forms).
        func copy(_ r: UInt8) { if is32 { e.rri(.add_imm_32, rd, r, 0) } else { e.rr(.move_reg, rd, r) } }
        if a == z && b == z {
            switch op {
            case .div, .divu, .divw, .divuw: e.ri(.load_imm, rd, UInt64.max)
            default: e.ri(.load_imm, rd, 0)
            }
            return
        }
        if b == z {  // a op 0
            switch op {
            case .add, .sub, .sll, .srl, .sra, .xor, .or, .addw, .subw, .sllw, .srlw, .sraw, .rem, .remu, .remw, .remuw,
                 .andn, .rol, .ror, .rolw, .rorw:
                copy(a)
            case .and, .mul, .mulh, .mulhsu, .mulhu, .mulw, .sltu: e.ri(.load_imm, rd, 0)
            case .div, .divu, .divw, .divuw: e.ri(.load_imm, rd, UInt64.max)
            case .slt: e.rri(.set_lt_s_imm, rd, a, 0)
            case .orn: e.ri(.load_imm, rd, UInt64.max)
            case .xnor: e.rri(.xor_imm, rd, a, UInt64.max)
            case .maxu: copy(a)
            case .minu: e.ri(.load_imm, rd, 0)
            default:
                guard rd != a else { throw unsupported("this use of the zero register has no PVM translation") }
                e.ri(.load_imm, rd, 0); e.rrr(pop, rd, a, rd)
            }
            return
        }
        // 0 op b
        switch op {
        case .add, .xor, .or, .addw, .maxu: copy(b)
        case .sub: e.rri(.neg_add_imm_64, rd, b, 0)
        case .subw: e.rri(.neg_add_imm_32, rd, b, 0)
        case .and, .sll, .srl, .sra, .sllw, .srlw, .sraw, .mul, .mulh, .mulhsu, .mulhu, .mulw, .minu, .andn, .rol, .ror,
             .rolw, .rorw:
            e.ri(.load_imm, rd, 0)
        case .slt: e.rri(.set_gt_s_imm, rd, b, 0)
        case .sltu: e.rri(.set_gt_u_imm, rd, b, 0)
        default:
            guard rd != b else { throw unsupported("this use of the zero register has no PVM translation") }
            e.ri(.load_imm, rd, 0); e.rrr(pop, rd, rd, b)
        }
    }
}

extension RVInst {
    var ins_imm: Int64 { imm }
}

extension GuestMemoryLayout {
    static func pageAlignUp(_ x: UInt64) -> UInt64 { (x + 4095) / 4096 * 4096 }
}
