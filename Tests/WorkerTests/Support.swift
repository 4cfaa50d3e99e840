// Shared by the worker tests: the build directory's executables and one spawner per test class.
import Foundation
import JIT
import PVM
import PVMAssembler
import Sandbox
import SandboxedExecution
import WireProtocol
import XCTest

enum Build {
    static let directory: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    static var workerPath: String { directory.appendingPathComponent("alcatraz-worker").path }
    static var harnessPath: String { directory.appendingPathComponent("alcatraz-sandbox-harness").path }

    static func executor() throws -> SandboxedExecutor {
        var limits = ResourceLimits()
        limits.cpuSeconds = 5
        limits.memoryBudgetBytes = 512 << 20
        let executor = try SandboxedExecutor(workerPath: workerPath, limits: limits)
        executor.timeoutSeconds = 20
        return executor
    }
}

enum Programs {
    /// Halts at once; the output is the input.
    static let echo = "jump_ind ra, 0"
    static let panic = "load_imm r1, 1\ntrap"
    static let spin = "loop:\n    add_imm_64 r1, r1, 1\n    jump loop"
    /// A guest store to an unmapped page above the panic zone: a hardware fault in JIT code.
    static let pageFault = "load_imm r1, 5\nstore_u32 r1, 0x40000000\ntrap"
    static let logs = """
        .ro_data
        msg: .ascii "hi"
        .code
            load_imm r7, 1
            load_imm r8, 0
            load_imm r9, 0
            load_imm r10, msg
            load_imm r11, 2
            ecalli 100
            ecalli 0
            jump_ind ra, 0
        """

    static func inProcess(_ source: String, input: [UInt8], gas: Int64, engine: Engine) throws -> InvocationResult {
        let program = try Assembler.assemble(source)
        switch engine {
        case .interpreter: return GuestABI.invoke(try Interpreter(standard: program, input: input, gas: gas), initialGas: gas)
        case .jit: return GuestABI.invoke(try JITInstance(standard: program, input: input, gas: gas), initialGas: gas)
        }
    }
}
