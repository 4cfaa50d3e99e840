/// An instruction as the interpreter's inner loop wants it: 32 bytes, operands resolved, the block
/// gas cost and the branch target index precomputed.
struct InterpreterOp {
    var opcode: Opcode
    var a: UInt8
    var b: UInt8
    var d: UInt8
    /// Gas charged when a block is entered at this instruction.
    var cost: UInt32
    var immX: UInt64
    var immY: UInt64
    /// Index of the static branch target if it is a block start, else -1.
    var target: Int32
    var pc: UInt32

    init(_ ins: Instruction, cost: UInt32, target: Int32) {
        opcode = ins.isValid ? ins.opcode : .trap
        a = ins.a
        b = ins.b
        d = ins.d
        self.cost = cost
        immX = ins.immX
        immY = ins.immY
        self.target = target
        pc = ins.pc
    }
}

@inline(__always) func sx32(_ x: UInt64) -> UInt64 { UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: x))) }
@inline(__always) func sx32(_ x: UInt32) -> UInt64 { UInt64(bitPattern: Int64(Int32(bitPattern: x))) }
@inline(__always) func lo32(_ x: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: x) }
@inline(__always) func signed(_ x: UInt64) -> Int64 { Int64(bitPattern: x) }
@inline(__always) func unsigned(_ x: Int64) -> UInt64 { UInt64(bitPattern: x) }
@inline(__always) func bit(_ c: Bool) -> UInt64 { c ? 1 : 0 }
@inline(__always) func rotr64(_ x: UInt64, _ n: UInt64) -> UInt64 { let s = n & 63; return (x >> s) | (x << ((64 &- s) & 63)) }
@inline(__always) func rotr32(_ x: UInt32, _ n: UInt64) -> UInt32 { let s = UInt32(n & 31); return (x >> s) | (x << ((32 &- s) & 31)) }

/// High 64 bits of the signed × unsigned 128-bit product.
@inline(__always) func mulUpperSU(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let high = a.multipliedFullWidth(by: b).high
    return signed(a) < 0 ? high &- b : high
}

extension Interpreter {
    /// The inner loop. Locals mirror the object state and are written back on every exit.
    func execute() -> ExitReason {
        let r = regs
        let ops = self.ops.baseAddress!
        let mem = memory
        let jumpTargets = program.jumpTarget
        var gas = self.gas
        var i = position
        var exit: ExitReason = .panic
        var exitIndex = i

        if mustCharge {
            let cost = Int64(ops[i].cost)
            if gas < cost {
                self.pc = ops[i].pc
                return .outOfGas
            }
            gas -= cost
            mustCharge = false
        }

        /// Moves to instruction `next`, charging its block; false if it does not fit.
        @inline(__always) func enter(_ next: Int, _ gas: inout Int64, _ i: inout Int) -> Bool {
            i = next
            let cost = Int64(ops[next].cost)
            if gas < cost { return false }
            gas &-= cost
            return true
        }

        /// Dynamic jump (GP djump): the next instruction index, or a halt/panic exit.
        @inline(__always) func djump(_ address: UInt64) -> Int {
            let a = UInt32(truncatingIfNeeded: address)
            if a == GuestMemoryLayout.haltAddress { return -2 }
            let slot = Int(a >> 1)
            if a == 0 || a & 1 != 0 || slot > jumpTargets.count { return -1 }
            return Int(jumpTargets[slot - 1])
        }

        run: while true {
            let op = ops[i]
            let a = Int(op.a), b = Int(op.b), d = Int(op.d)
            switch op.opcode {
            // MARK: control flow
            case .trap:
                exit = .panic; exitIndex = i; break run
            case .fallthrough:
                if !enter(i + 1, &gas, &i) { exit = .outOfGas; exitIndex = i; break run }
                continue run
            case .ecalli:
                exit = .hostCall(id: op.immX); exitIndex = i; break run
            case .jump:
                let t = Int(op.target)
                if t < 0 { exit = .panic; exitIndex = i; break run }
                if !enter(t, &gas, &i) { exit = .outOfGas; exitIndex = i; break run }
                continue run
            case .jump_ind, .load_imm_jump_ind:
                let address = op.opcode == .jump_ind ? r[a] &+ op.immX : r[b] &+ op.immY
                if op.opcode == .load_imm_jump_ind { r[a] = op.immX }
                let t = djump(address)
                if t == -2 { exit = .halt; exitIndex = i; break run }
                if t < 0 { exit = .panic; exitIndex = i; break run }
                if !enter(t, &gas, &i) { exit = .outOfGas; exitIndex = i; break run }
                continue run
            case .load_imm_jump:
                r[a] = op.immX
                let t = Int(op.target)
                if t < 0 { exit = .panic; exitIndex = i; break run }
                if !enter(t, &gas, &i) { exit = .outOfGas; exitIndex = i; break run }
                continue run
            case .branch_eq_imm, .branch_ne_imm, .branch_lt_u_imm, .branch_le_u_imm, .branch_ge_u_imm,
                 .branch_gt_u_imm, .branch_lt_s_imm, .branch_le_s_imm, .branch_ge_s_imm, .branch_gt_s_imm,
                 .branch_eq, .branch_ne, .branch_lt_u, .branch_lt_s, .branch_ge_u, .branch_ge_s:
                let x = r[a]
                let y = op.opcode.rawValue >= 170 ? r[b] : op.immX
                let taken: Bool
                switch op.opcode {
                case .branch_eq_imm, .branch_eq: taken = x == y
                case .branch_ne_imm, .branch_ne: taken = x != y
                case .branch_lt_u_imm, .branch_lt_u: taken = x < y
                case .branch_le_u_imm: taken = x <= y
                case .branch_ge_u_imm, .branch_ge_u: taken = x >= y
                case .branch_gt_u_imm: taken = x > y
                case .branch_lt_s_imm, .branch_lt_s: taken = signed(x) < signed(y)
                case .branch_le_s_imm: taken = signed(x) <= signed(y)
                case .branch_ge_s_imm, .branch_ge_s: taken = signed(x) >= signed(y)
                default: taken = signed(x) > signed(y)
                }
                var next = i + 1
                if taken {
                    next = Int(op.target)
                    if next < 0 { exit = .panic; exitIndex = i; break run }
                }
                if !enter(next, &gas, &i) { exit = .outOfGas; exitIndex = i; break run }
                continue run

            // MARK: immediates and moves
            case .load_imm_64, .load_imm: r[a] = op.immX
            case .move_reg: r[d] = r[a]
            case .sbrk: r[d] = mem.sbrk(r[a])

            // MARK: memory
            case .load_u8, .load_i8, .load_u16, .load_i16, .load_u32, .load_i32, .load_u64,
                 .load_ind_u8, .load_ind_i8, .load_ind_u16, .load_ind_i16, .load_ind_u32, .load_ind_i32,
                 .load_ind_u64:
                let indirect = op.opcode.rawValue >= 124
                let address = lo32(indirect ? r[b] &+ op.immX : op.immX)
                let kind = indirect ? op.opcode.rawValue - 124 : op.opcode.rawValue - 52
                let size: UInt32 = kind < 2 ? 1 : kind < 4 ? 2 : kind < 6 ? 4 : 8
                guard let v = mem.load(address, size) else {
                    exit = mem.fault(address, size, write: false) ?? .panic; exitIndex = i; break run
                }
                switch kind {
                case 1: r[a] = unsigned(Int64(Int8(truncatingIfNeeded: v)))
                case 3: r[a] = unsigned(Int64(Int16(truncatingIfNeeded: v)))
                case 5: r[a] = unsigned(Int64(Int32(truncatingIfNeeded: v)))
                default: r[a] = v
                }
            case .store_u8, .store_u16, .store_u32, .store_u64, .store_imm_u8, .store_imm_u16,
                 .store_imm_u32, .store_imm_u64, .store_imm_ind_u8, .store_imm_ind_u16,
                 .store_imm_ind_u32, .store_imm_ind_u64, .store_ind_u8, .store_ind_u16,
                 .store_ind_u32, .store_ind_u64:
                let raw = op.opcode.rawValue
                let address: UInt32, value: UInt64, kind: UInt8
                switch raw {
                case 30...33: address = lo32(op.immX); value = op.immY; kind = raw - 30
                case 59...62: address = lo32(op.immX); value = r[a]; kind = raw - 59
                case 70...73: address = lo32(r[a] &+ op.immX); value = op.immY; kind = raw - 70
                default: address = lo32(r[b] &+ op.immX); value = r[a]; kind = raw - 120
                }
                let size = UInt32(1) << kind
                if !mem.store(address, size, value) {
                    exit = mem.fault(address, size, write: true) ?? .panic; exitIndex = i; break run
                }

            // MARK: two registers
            case .count_set_bits_64: r[d] = UInt64(r[a].nonzeroBitCount)
            case .count_set_bits_32: r[d] = UInt64(lo32(r[a]).nonzeroBitCount)
            case .leading_zero_bits_64: r[d] = UInt64(r[a].leadingZeroBitCount)
            case .leading_zero_bits_32: r[d] = UInt64(lo32(r[a]).leadingZeroBitCount)
            case .trailing_zero_bits_64: r[d] = UInt64(r[a].trailingZeroBitCount)
            case .trailing_zero_bits_32: r[d] = UInt64(lo32(r[a]).trailingZeroBitCount)
            case .sign_extend_8: r[d] = unsigned(Int64(Int8(truncatingIfNeeded: r[a])))
            case .sign_extend_16: r[d] = unsigned(Int64(Int16(truncatingIfNeeded: r[a])))
            case .zero_extend_16: r[d] = r[a] & 0xFFFF
            case .reverse_bytes: r[d] = r[a].byteSwapped

            // MARK: two registers and an immediate (rA = f(rB, imm))
            case .add_imm_32: r[a] = sx32(r[b] &+ op.immX)
            case .and_imm: r[a] = r[b] & op.immX
            case .xor_imm: r[a] = r[b] ^ op.immX
            case .or_imm: r[a] = r[b] | op.immX
            case .mul_imm_32: r[a] = sx32(r[b] &* op.immX)
            case .set_lt_u_imm: r[a] = bit(r[b] < op.immX)
            case .set_lt_s_imm: r[a] = bit(signed(r[b]) < signed(op.immX))
            case .shlo_l_imm_32: r[a] = sx32(lo32(r[b]) << (op.immX & 31))
            case .shlo_r_imm_32: r[a] = sx32(lo32(r[b]) >> (op.immX & 31))
            case .shar_r_imm_32: r[a] = sx32(UInt32(bitPattern: Int32(truncatingIfNeeded: r[b]) >> (op.immX & 31)))
            case .neg_add_imm_32: r[a] = sx32(op.immX &- r[b])
            case .set_gt_u_imm: r[a] = bit(r[b] > op.immX)
            case .set_gt_s_imm: r[a] = bit(signed(r[b]) > signed(op.immX))
            case .shlo_l_imm_alt_32: r[a] = sx32(lo32(op.immX) << (r[b] & 31))
            case .shlo_r_imm_alt_32: r[a] = sx32(lo32(op.immX) >> (r[b] & 31))
            case .shar_r_imm_alt_32: r[a] = sx32(UInt32(bitPattern: Int32(truncatingIfNeeded: op.immX) >> (r[b] & 31)))
            case .cmov_iz_imm: if r[b] == 0 { r[a] = op.immX }
            case .cmov_nz_imm: if r[b] != 0 { r[a] = op.immX }
            case .add_imm_64: r[a] = r[b] &+ op.immX
            case .mul_imm_64: r[a] = r[b] &* op.immX
            case .shlo_l_imm_64: r[a] = r[b] << (op.immX & 63)
            case .shlo_r_imm_64: r[a] = r[b] >> (op.immX & 63)
            case .shar_r_imm_64: r[a] = unsigned(signed(r[b]) >> (op.immX & 63))
            case .neg_add_imm_64: r[a] = op.immX &- r[b]
            case .shlo_l_imm_alt_64: r[a] = op.immX << (r[b] & 63)
            case .shlo_r_imm_alt_64: r[a] = op.immX >> (r[b] & 63)
            case .shar_r_imm_alt_64: r[a] = unsigned(signed(op.immX) >> (r[b] & 63))
            case .rot_r_64_imm: r[a] = rotr64(r[b], op.immX)
            case .rot_r_64_imm_alt: r[a] = rotr64(op.immX, r[b])
            case .rot_r_32_imm: r[a] = sx32(rotr32(lo32(r[b]), op.immX))
            case .rot_r_32_imm_alt: r[a] = sx32(rotr32(lo32(op.immX), r[b]))

            // MARK: three registers (rD = f(rA, rB))
            case .add_32: r[d] = sx32(r[a] &+ r[b])
            case .sub_32: r[d] = sx32(r[a] &- r[b])
            case .mul_32: r[d] = sx32(r[a] &* r[b])
            case .div_u_32:
                let y = lo32(r[b])
                r[d] = y == 0 ? UInt64.max : sx32(lo32(r[a]) / y)
            case .div_s_32:
                let x = Int32(truncatingIfNeeded: r[a]), y = Int32(truncatingIfNeeded: r[b])
                r[d] = y == 0 ? UInt64.max : (x == .min && y == -1) ? unsigned(Int64(x)) : unsigned(Int64(x / y))
            case .rem_u_32:
                let y = lo32(r[b])
                r[d] = y == 0 ? sx32(r[a]) : sx32(lo32(r[a]) % y)
            case .rem_s_32:
                let x = Int32(truncatingIfNeeded: r[a]), y = Int32(truncatingIfNeeded: r[b])
                r[d] = (x == .min && y == -1) ? 0 : y == 0 ? unsigned(Int64(x)) : unsigned(Int64(x % y))
            case .shlo_l_32: r[d] = sx32(lo32(r[a]) << (r[b] & 31))
            case .shlo_r_32: r[d] = sx32(lo32(r[a]) >> (r[b] & 31))
            case .shar_r_32: r[d] = sx32(UInt32(bitPattern: Int32(truncatingIfNeeded: r[a]) >> (r[b] & 31)))
            case .add_64: r[d] = r[a] &+ r[b]
            case .sub_64: r[d] = r[a] &- r[b]
            case .mul_64: r[d] = r[a] &* r[b]
            case .div_u_64: r[d] = r[b] == 0 ? UInt64.max : r[a] / r[b]
            case .div_s_64:
                let x = signed(r[a]), y = signed(r[b])
                r[d] = y == 0 ? UInt64.max : (x == .min && y == -1) ? r[a] : unsigned(x / y)
            case .rem_u_64: r[d] = r[b] == 0 ? r[a] : r[a] % r[b]
            case .rem_s_64:
                let x = signed(r[a]), y = signed(r[b])
                r[d] = (x == .min && y == -1) ? 0 : y == 0 ? r[a] : unsigned(x % y)
            case .shlo_l_64: r[d] = r[a] << (r[b] & 63)
            case .shlo_r_64: r[d] = r[a] >> (r[b] & 63)
            case .shar_r_64: r[d] = unsigned(signed(r[a]) >> (r[b] & 63))
            case .and: r[d] = r[a] & r[b]
            case .xor: r[d] = r[a] ^ r[b]
            case .or: r[d] = r[a] | r[b]
            case .mul_upper_s_s: r[d] = unsigned(signed(r[a]).multipliedFullWidth(by: signed(r[b])).high)
            case .mul_upper_u_u: r[d] = r[a].multipliedFullWidth(by: r[b]).high
            case .mul_upper_s_u: r[d] = mulUpperSU(r[a], r[b])
            case .set_lt_u: r[d] = bit(r[a] < r[b])
            case .set_lt_s: r[d] = bit(signed(r[a]) < signed(r[b]))
            case .cmov_iz: if r[b] == 0 { r[d] = r[a] }
            case .cmov_nz: if r[b] != 0 { r[d] = r[a] }
            case .rot_l_64: r[d] = rotr64(r[a], (64 &- (r[b] & 63)) & 63)
            case .rot_l_32: r[d] = sx32(rotr32(lo32(r[a]), (32 &- (r[b] & 31)) & 31))
            case .rot_r_64: r[d] = rotr64(r[a], r[b])
            case .rot_r_32: r[d] = sx32(rotr32(lo32(r[a]), r[b]))
            case .and_inv: r[d] = r[a] & ~r[b]
            case .or_inv: r[d] = r[a] | ~r[b]
            case .xnor: r[d] = ~(r[a] ^ r[b])
            case .max: r[d] = signed(r[a]) > signed(r[b]) ? r[a] : r[b]
            case .max_u: r[d] = Swift.max(r[a], r[b])
            case .min: r[d] = signed(r[a]) < signed(r[b]) ? r[a] : r[b]
            case .min_u: r[d] = Swift.min(r[a], r[b])
            }
            i += 1
        }

        self.gas = gas
        self.pc = ops[exitIndex].pc
        if case .hostCall = exit {
            position = exitIndex + 1
        } else {
            position = exitIndex
        }
        return exit
    }
}
