import JIT
import PVM
import PVMAssembler

/// Small conveniences for tests that need standard programs on both engines.
enum PVMAssemblerBridge {
    static func standard(_ source: String) throws -> StandardProgram { try Assembler.assemble(source) }

    static func jit(_ program: StandardProgram, input: [UInt8] = [], gas: Int64 = 1000) throws -> JITInstance {
        try JITInstance(standard: program, input: input, gas: gas)
    }
}
