// Module JIT: the x86-64 back end of Alcatraz.
//
// `X86/` holds a small typed assembler DSL (`X86Assembler`) that emits exactly the instruction
// forms the one-pass PVM -> x86-64 recompiler needs: 8/16/32/64-bit integer moves and ALU
// operations on registers, memory operands and immediates, shifts, bit counting, conditional
// moves and sets, and control flow with labels that are fixed up as soon as they are bound.
// It allocates nothing per instruction (one growable byte buffer, flat arrays for labels),
// so it can keep up with a recompiler that translates guest code at well over 100 MB/s.
// It depends on nothing but the standard library, to keep the worker binary small.
