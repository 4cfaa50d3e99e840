/// A bounds-checked reader of 64-bit little-endian ELF files: just what the linker needs
/// (header, section headers, symbols, RELA relocations). Every offset and size read from the file
/// is checked against the file before it is used.
struct ELFFile {
    struct Section {
        var index: Int
        var name: String
        var type: UInt32
        var flags: UInt64
        var addr: UInt64
        var offset: UInt64
        var size: UInt64
        var link: UInt32
        var info: UInt32
        var entsize: UInt64

        var isAlloc: Bool { flags & 2 != 0 }
        var isWrite: Bool { flags & 1 != 0 }
        var isExec: Bool { flags & 4 != 0 }
        var isTLS: Bool { flags & 0x400 != 0 }
        var hasBytes: Bool { type != ELFFile.SHT_NOBITS }
    }

    struct Symbol {
        /// Offset of the name in the symbol string table (see `name(of:)`).
        var nameOffset: UInt32
        var value: UInt64
        var size: UInt64
        var info: UInt8
        var shndx: UInt16
        var type: UInt8 { info & 0xF }
    }

    struct Rela {
        var offset: UInt64
        var type: UInt32
        var symbol: UInt32
        var addend: Int64
        /// The index of the relocation section and of the entry in it, for messages.
        var section: Int
    }

    static let SHT_PROGBITS: UInt32 = 1, SHT_SYMTAB: UInt32 = 2, SHT_RELA: UInt32 = 4
    static let SHT_DYNAMIC: UInt32 = 6, SHT_NOBITS: UInt32 = 8, SHT_REL: UInt32 = 9, SHT_DYNSYM: UInt32 = 11
    static let SHT_INIT_ARRAY: UInt32 = 14, SHT_FINI_ARRAY: UInt32 = 15, SHT_PREINIT_ARRAY: UInt32 = 16
    static let STT_SECTION: UInt8 = 3, STT_FUNC: UInt8 = 2
    static let SHN_UNDEF: UInt16 = 0, SHN_ABS: UInt16 = 0xFFF1, SHN_LORESERVE: UInt16 = 0xFF00

    let bytes: [UInt8]
    var entry: UInt64 = 0
    var flags: UInt32 = 0
    var sections: [Section] = []
    var symbols: [Symbol] = []
    /// The string table of the symbol table.
    var symbolNames: Section?
    var relocations: [Rela] = []

    init(_ bytes: [UInt8]) throws(LinkError) {
        self.bytes = bytes
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw LinkError(.malformed, "not an ELF file: the first 4 bytes are not 7f 45 4c 46 ('\\x7fELF')")
        }
        guard bytes.count >= 64 else {
            throw LinkError(.malformed, "truncated ELF header: \(bytes.count) bytes, an ELF64 header needs 64")
        }
        guard bytes[4] == 2 else {
            throw LinkError(.unsupportedFile, "not a 64-bit ELF (EI_CLASS = \(bytes[4]), expected 2 = ELFCLASS64)")
        }
        guard bytes[5] == 1 else {
            throw LinkError(.unsupportedFile, "not a little-endian ELF (EI_DATA = \(bytes[5]), expected 1)")
        }
        let type = try u16(16, "e_type")
        let machine = try u16(18, "e_machine")
        guard machine == 243 else {
            throw LinkError(.unsupportedFile, "not a RISC-V ELF (e_machine = \(machine), expected 243 = EM_RISCV)")
        }
        guard type == 2 else {
            let what = type == 1 ? "a relocatable object (ET_REL): link it with ld.lld first (scripts/build-guest.sh)"
                : type == 3 ? "a shared object or PIE (ET_DYN): link statically, without -pie"
                : "of type \(type)"
            throw LinkError(.unsupportedFile, "not a static executable: the ELF is \(what)")
        }
        entry = try u64(24, "e_entry")
        let phoff = try u64(32, "e_phoff")
        let shoff = try u64(40, "e_shoff")
        flags = try u32(48, "e_flags")
        let phentsize = Int(try u16(54, "e_phentsize"))
        let phnum = Int(try u16(56, "e_phnum"))
        let shentsize = Int(try u16(58, "e_shentsize"))
        let shnum = Int(try u16(60, "e_shnum"))
        let shstrndx = Int(try u16(62, "e_shstrndx"))

        // Program headers: a static executable has no interpreter and no dynamic segment.
        if phnum > 0 {
            guard phentsize >= 56 else {
                throw LinkError(.malformed, "e_phentsize is \(phentsize), an ELF64 program header needs 56 bytes")
            }
            try checkRange(phoff, UInt64(phnum) * UInt64(phentsize), "program header table")
            for i in 0..<phnum {
                let p = Int(phoff) + i * phentsize
                let ptype = try u32(p, "p_type")
                if ptype == 3 { throw LinkError(.unsupportedFile, "not a static executable: it has a PT_INTERP program header (dynamic linking)") }
                if ptype == 2 { throw LinkError(.unsupportedFile, "not a static executable: it has a PT_DYNAMIC program header") }
                if ptype == 7 { throw LinkError(.unsupportedFile, "thread-local storage (PT_TLS) is not supported") }
            }
        }

        guard shnum > 0 else {
            throw LinkError(.malformed, "the ELF has no section headers (e_shnum = 0); the linker needs sections, symbols and relocations")
        }
        guard shentsize >= 64 else {
            throw LinkError(.malformed, "e_shentsize is \(shentsize), an ELF64 section header needs 64 bytes")
        }
        try checkRange(shoff, UInt64(shnum) * UInt64(shentsize), "section header table")
        var raw: [Section] = []
        raw.reserveCapacity(shnum)
        for i in 0..<shnum {
            let h = Int(shoff) + i * shentsize
            raw.append(Section(index: i, name: "", type: try u32(h + 4, "sh_type"), flags: try u64(h + 8, "sh_flags"),
                               addr: try u64(h + 16, "sh_addr"), offset: try u64(h + 24, "sh_offset"),
                               size: try u64(h + 32, "sh_size"), link: try u32(h + 40, "sh_link"),
                               info: try u32(h + 44, "sh_info"), entsize: try u64(h + 56, "sh_entsize")))
            if raw[i].type != ELFFile.SHT_NOBITS && i != 0 {
                try checkRange(raw[i].offset, raw[i].size, "section \(i)")
            }
        }
        guard shstrndx < shnum else {
            throw LinkError(.malformed, "e_shstrndx \(shstrndx) is not a section (e_shnum = \(shnum))")
        }
        let names = raw[shstrndx]
        for i in 0..<shnum {
            let h = Int(shoff) + i * shentsize
            let nameOffset = try u32(h, "sh_name")
            raw[i].name = try string(in: names, at: UInt64(nameOffset), what: "name of section \(i)")
        }
        sections = raw

        for s in sections {
            switch s.type {
            case ELFFile.SHT_DYNAMIC, ELFFile.SHT_DYNSYM:
                throw LinkError(.unsupportedFile, "not a static executable: it has a dynamic section '\(s.name)'")
            case ELFFile.SHT_REL:
                throw LinkError(.unsupportedFile, "section '\(s.name)' holds REL relocations; RISC-V uses RELA")
            default: break
            }
            if s.isAlloc && s.isTLS && s.size > 0 {
                throw LinkError(.unsupportedFile, "thread-local storage (section '\(s.name)') is not supported")
            }
        }

        // The symbol table (there is at most one in an executable).
        if let symtab = sections.first(where: { $0.type == ELFFile.SHT_SYMTAB }) {
            guard symtab.entsize == 24 || symtab.entsize == 0 else {
                throw LinkError(.malformed, "symbol table '\(symtab.name)' has entries of \(symtab.entsize) bytes, expected 24")
            }
            guard Int(symtab.link) < sections.count else {
                throw LinkError(.malformed, "symbol table '\(symtab.name)' links to string table \(symtab.link), which does not exist")
            }
            symbolNames = sections[Int(symtab.link)]
            let count = Int(symtab.size / 24)
            symbols.reserveCapacity(count)
            for i in 0..<count {
                let p = Int(symtab.offset) + i * 24
                symbols.append(Symbol(nameOffset: try u32(p, "st_name"), value: try u64(p + 8, "st_value"),
                                      size: try u64(p + 16, "st_size"), info: bytes[p + 4], shndx: try u16(p + 6, "st_shndx")))
            }
        }

        for s in sections where s.type == ELFFile.SHT_RELA {
            guard s.entsize == 24 || s.entsize == 0 else {
                throw LinkError(.malformed, "relocation section '\(s.name)' has entries of \(s.entsize) bytes, expected 24")
            }
            let count = Int(s.size / 24)
            relocations.reserveCapacity(relocations.count + count)
            for i in 0..<count {
                let p = Int(s.offset) + i * 24
                let info = try u64(p + 8, "r_info")
                relocations.append(Rela(offset: try u64(p, "r_offset"), type: UInt32(truncatingIfNeeded: info),
                                        symbol: UInt32(info >> 32), addend: Int64(bitPattern: try u64(p + 16, "r_addend")),
                                        section: s.index))
            }
        }
    }

    func checkRange(_ offset: UInt64, _ size: UInt64, _ what: String) throws(LinkError) {
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= UInt64(bytes.count) else {
            throw LinkError(.malformed, "truncated or malformed ELF: \(what) spans bytes \(offset) ..< \(overflow ? "2^64+" : String(end)), but the file has \(bytes.count)")
        }
    }

    func u16(_ p: Int, _ what: String) throws(LinkError) -> UInt16 {
        guard p >= 0, p + 2 <= bytes.count else { throw truncated(p, 2, what) }
        return UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8
    }

    func u32(_ p: Int, _ what: String) throws(LinkError) -> UInt32 {
        guard p >= 0, p + 4 <= bytes.count else { throw truncated(p, 4, what) }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[p + i]) << (8 * UInt32(i)) }
        return v
    }

    func u64(_ p: Int, _ what: String) throws(LinkError) -> UInt64 {
        guard p >= 0, p + 8 <= bytes.count else { throw truncated(p, 8, what) }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[p + i]) << (8 * UInt64(i)) }
        return v
    }

    func truncated(_ p: Int, _ n: Int, _ what: String) -> LinkError {
        LinkError(.malformed, "truncated ELF: \(what) at byte \(p) needs \(n) bytes, the file has \(bytes.count)")
    }

    /// A NUL-terminated string inside a string-table section.
    func string(in table: Section, at offset: UInt64, what: String) throws(LinkError) -> String {
        if offset == 0 { return "" }
        guard table.type != ELFFile.SHT_NOBITS, offset < table.size else {
            throw LinkError(.malformed, "\(what): string offset \(offset) is outside string table '\(table.name)' (\(table.size) bytes)")
        }
        let start = Int(table.offset + offset), end = Int(table.offset + table.size)
        var i = start
        while i < end && bytes[i] != 0 { i += 1 }
        guard i < end else { throw LinkError(.malformed, "\(what): string at offset \(offset) in '\(table.name)' is not NUL-terminated") }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// A symbol's name, decoded when needed (messages); "<bad name>" if the string table is broken.
    func name(of sym: Symbol) -> String {
        guard let table = symbolNames else { return "" }
        return (try? string(in: table, at: UInt64(sym.nameOffset), what: "symbol name")) ?? "<bad name>"
    }

    /// The bytes of a section (empty for NOBITS). The range was checked when the headers were read.
    func contents(_ s: Section) -> ArraySlice<UInt8> {
        s.hasBytes ? bytes[Int(s.offset)..<Int(s.offset + s.size)] : []
    }
}
