# edge.S: RISC-V forms compilers rarely emit but the linker must translate exactly: every use of
# x0, compressed stack forms, another link register, indirect calls, a code address in code.
# Writes 8-byte results to `results` and returns them (LinkerEdgeTests lists the expected values).
    .option norvc
    .section .text.alcatraz_start,"ax",@progbits
    .globl alcatraz_start
    .type alcatraz_start,@function
alcatraz_start:
    addi sp, sp, -32
    sd ra, 24(sp)
    lui a5, %hi(results)
    addi a5, a5, %lo(results)
    li t0, -5
    li t1, 7
    sub a2, zero, t1;   sd a2, 0(a5)        # -7
    sltu a2, zero, t1;  sd a2, 8(a5)        # 1
    slt a2, t0, zero;   sd a2, 16(a5)       # 1
    slt a2, zero, t0;   sd a2, 24(a5)       # 0
    subw a2, zero, t1;  sd a2, 32(a5)       # -7
    addw a2, t0, zero;  sd a2, 40(a5)       # -5
    or a2, t1, zero;    sd a2, 48(a5)       # 7
    and a2, t1, zero;   sd a2, 56(a5)       # 0
    div a2, t1, zero;   sd a2, 64(a5)       # -1
    remw a2, t0, zero;  sd a2, 72(a5)       # -5
    sltu a2, t1, zero;  sd a2, 80(a5)       # 0
    sll a2, zero, t1;   sd a2, 88(a5)       # 0
    sltiu a2, zero, 5;  sd a2, 96(a5)       # 1
    ori a2, zero, -3;   sd a2, 104(a5)      # -3
    li a2, 99;          sd a2, 112(a5)
    sd zero, 112(a5)                        # 0 (store of x0)
    li a2, 0x7fffffff;  sd a2, 120(a5)      # lui+addiw: 0x7fffffff
    li a2, 0
    bltu zero, t1, 1f                       # taken
    ori a2, a2, 1
1:  bgeu t1, zero, 2f                       # always
    ori a2, a2, 2
2:  bltu t1, zero, 3f                       # never
    ori a2, a2, 4
3:  blt zero, t0, 4f                        # not taken (t0 < 0)
    ori a2, a2, 8
4:  bge zero, t0, 5f                        # taken
    ori a2, a2, 16
5:  beq zero, zero, 6f                      # always
    ori a2, a2, 32
6:  bne zero, zero, 7f                      # never
    ori a2, a2, 64
7:  sd a2, 128(a5)                          # 4 | 8 | 64 = 76
    .option rvc
    c.addi16sp sp, -64
    c.addi4spn a2, sp, 16
    c.li a3, 13
    c.sdsp a3, 16(sp)
    c.ld a4, 0(a2)
    c.swsp t1, 8(sp)
    c.lwsp a3, 8(sp)
    c.add a4, a3
    c.addi16sp sp, 64
    .option norvc
    sd a4, 136(a5)                          # 13 + 7 = 20
    jal t0, twice_t1                        # another link register
    sd a2, 144(a5)                          # 14
    lui a3, %hi(twice_t1_ra)                # a code address in code
    addi a3, a3, %lo(twice_t1_ra)
    jalr a3
    sd a2, 152(a5)                          # 15
    ld ra, 24(sp)
    addi sp, sp, 32
    mv a0, a5
    li a1, 160
    ret

twice_t1:
    add a2, t1, t1
    jr t0

twice_t1_ra:
    add a2, t1, t1
    addi a2, a2, 1
    ret

    .section .bss.results,"aw",@nobits
    .p2align 3
results:
    .zero 160
