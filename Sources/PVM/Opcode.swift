/// How the bytes after an opcode are laid out (GP 0.7.2 appendix A.5; SPEC.md §2.5).
public enum OperandForm: Sendable, Equatable {
    /// No operands (`trap`, `fallthrough`).
    case none
    /// One immediate (`ecalli`).
    case imm
    /// A register and a raw 64-bit immediate (`load_imm_64`).
    case regImm64
    /// Two immediates (`store_imm_*`).
    case immImm
    /// One pc-relative offset (`jump`).
    case offset
    /// A register and an immediate (opcodes 50–62).
    case regImm
    /// A register and two immediates (`store_imm_ind_*`).
    case regImmImm
    /// A register, an immediate and a pc-relative offset (`load_imm_jump`, `branch_*_imm`).
    case regImmOffset
    /// Two registers, destination in the low nibble (opcodes 100–111).
    case regReg
    /// Two registers and an immediate (opcodes 120–161).
    case regRegImm
    /// Two registers and a pc-relative offset (`branch_*`).
    case regRegOffset
    /// Two registers and two immediates (`load_imm_jump_ind`).
    case regRegImmImm
    /// Three registers, destination in the third byte (opcodes 190–230).
    case regRegReg
}

/// The 139 opcodes of the PVM, GP 0.7.2 numbering (unchanged since GP 0.5.4).
///
/// Any byte that is not one of these cases, or whose bitmask bit is clear, executes as `trap`.
public enum Opcode: UInt8, CaseIterable, Sendable {
    case trap = 0
    case `fallthrough` = 1
    case ecalli = 10
    case load_imm_64 = 20
    case store_imm_u8 = 30, store_imm_u16, store_imm_u32, store_imm_u64
    case jump = 40
    case jump_ind = 50
    case load_imm, load_u8, load_i8, load_u16, load_i16, load_u32, load_i32, load_u64
    case store_u8, store_u16, store_u32, store_u64
    case store_imm_ind_u8 = 70, store_imm_ind_u16, store_imm_ind_u32, store_imm_ind_u64
    case load_imm_jump = 80
    case branch_eq_imm, branch_ne_imm, branch_lt_u_imm, branch_le_u_imm, branch_ge_u_imm
    case branch_gt_u_imm, branch_lt_s_imm, branch_le_s_imm, branch_ge_s_imm, branch_gt_s_imm
    case move_reg = 100
    case sbrk, count_set_bits_64, count_set_bits_32, leading_zero_bits_64, leading_zero_bits_32
    case trailing_zero_bits_64, trailing_zero_bits_32, sign_extend_8, sign_extend_16, zero_extend_16
    case reverse_bytes
    case store_ind_u8 = 120, store_ind_u16, store_ind_u32, store_ind_u64
    case load_ind_u8, load_ind_i8, load_ind_u16, load_ind_i16, load_ind_u32, load_ind_i32, load_ind_u64
    case add_imm_32, and_imm, xor_imm, or_imm, mul_imm_32, set_lt_u_imm, set_lt_s_imm
    case shlo_l_imm_32, shlo_r_imm_32, shar_r_imm_32, neg_add_imm_32, set_gt_u_imm, set_gt_s_imm
    case shlo_l_imm_alt_32, shlo_r_imm_alt_32, shar_r_imm_alt_32, cmov_iz_imm, cmov_nz_imm
    case add_imm_64, mul_imm_64, shlo_l_imm_64, shlo_r_imm_64, shar_r_imm_64, neg_add_imm_64
    case shlo_l_imm_alt_64, shlo_r_imm_alt_64, shar_r_imm_alt_64, rot_r_64_imm, rot_r_64_imm_alt
    case rot_r_32_imm, rot_r_32_imm_alt
    case branch_eq = 170, branch_ne, branch_lt_u, branch_lt_s, branch_ge_u, branch_ge_s
    case load_imm_jump_ind = 180
    case add_32 = 190, sub_32, mul_32, div_u_32, div_s_32, rem_u_32, rem_s_32
    case shlo_l_32, shlo_r_32, shar_r_32
    case add_64, sub_64, mul_64, div_u_64, div_s_64, rem_u_64, rem_s_64
    case shlo_l_64, shlo_r_64, shar_r_64
    case and, xor, or, mul_upper_s_s, mul_upper_u_u, mul_upper_s_u, set_lt_u, set_lt_s
    case cmov_iz, cmov_nz, rot_l_64, rot_l_32, rot_r_64, rot_r_32, and_inv, or_inv, xnor
    case max, max_u, min, min_u

    /// The operand layout of this opcode.
    @inlinable @inline(__always)
    public var form: OperandForm {
        switch rawValue {
        case 0, 1: return .none
        case 10: return .imm
        case 20: return .regImm64
        case 30...33: return .immImm
        case 40: return .offset
        case 50...62: return .regImm
        case 70...73: return .regImmImm
        case 80...90: return .regImmOffset
        case 100...111: return .regReg
        case 120...161: return .regRegImm
        case 170...175: return .regRegOffset
        case 180: return .regRegImmImm
        default: return .regRegReg
        }
    }

    /// Whether the opcode ends a basic block (the set T of GP A.3: 22 opcodes: trap, fallthrough,
    /// jump, jump_ind, load_imm_jump, the 16 branches and load_imm_jump_ind).
    @inlinable @inline(__always)
    public var isTerminator: Bool {
        switch rawValue {
        case 0, 1, 40, 50, 80...90, 170...175, 180: return true
        default: return false
        }
    }

    /// The mnemonic used by the assembler and disassembler: the GP 0.7.2 name.
    public var name: String { String(describing: self) }

    /// Looks an opcode up by its mnemonic.
    public init?(name: String) {
        guard let op = Opcode.byName[name] else { return nil }
        self = op
    }

    private static let byName: [String: Opcode] = {
        var table: [String: Opcode] = [:]
        for op in Opcode.allCases { table[op.name] = op }
        return table
    }()

    /// Whether the opcode reads or writes guest memory (loads, stores and their immediate forms).
    public var accessesMemory: Bool {
        switch rawValue {
        case 30...33, 52...62, 70...73, 120...130: return true
        default: return false
        }
    }

    /// A lookup table from byte to opcode, `nil` for the bytes that are not defined opcodes.
    public static let table: [Opcode?] = (0...255).map { Opcode(rawValue: UInt8($0)) }
}
