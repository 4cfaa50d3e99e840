import JIT
import PVM
import PVMAssembler
import XCTest

/// Runs a program on the interpreter and on the recompiler from the same initial state and
/// checks that both end identically (reason, pc, registers, gas, memory). Tests then assert the
/// expected outcome once, so every case covers every backend.
struct Machine {
    var pages: [(address: UInt32, length: UInt32, writable: Bool)] = []
    var memory: [(address: UInt32, bytes: [UInt8])] = []
    var registers = [UInt64](repeating: 0, count: 13)
    var gas: Int64 = 10_000
    var pc: UInt32 = 0

    subscript(_ r: Int) -> UInt64 {
        get { registers[r] }
        set { registers[r] = newValue }
    }
}

struct Outcome: Equatable, CustomStringConvertible {
    var reason: ExitReason
    var pc: UInt32
    var registers: [UInt64]
    var gas: Int64
    var pages: [[UInt8]?]

    var description: String { "\(reason) at pc \(pc), gas \(gas), regs \(registers)" }
    subscript(_ r: Int) -> UInt64 { registers[r] }
}

enum Engines {
    static func assemble(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> ProgramBlob {
        do { return try Assembler.assembleBlob(source) } catch {
            XCTFail("assembly failed: \(error)", file: file, line: line)
            return ProgramBlob(jumpTable: [], code: [], bitmask: [])
        }
    }

    /// Runs on both engines until a final exit or after `maxExits` exits; host calls are served by
    /// `host` (the same way on both) and then resumed.
    static func run(_ source: String, _ m: Machine = Machine(), maxExits: Int = 16,
                    host: ((UInt64, any PVMInstance) -> Void)? = nil,
                    file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        run(blob: assemble(source, file: file, line: line), m, maxExits: maxExits, host: host, file: file, line: line)
    }

    static func run(blob: ProgramBlob, _ m: Machine, maxExits: Int = 16,
                    host: ((UInt64, any PVMInstance) -> Void)? = nil,
                    file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let program = DecodedProgram(blob)
        func setUp(_ memory: GuestMemory) {
            for p in m.pages { memory.map(address: p.address, length: p.length, access: p.writable ? .write : .read) }
            for c in m.memory { memory.initialize(c.bytes, at: c.address) }
        }
        do {
            let memory = try GuestMemory()
            setUp(memory)
            let interpreter = Interpreter(program: program, memory: memory, registers: m.registers, gas: m.gas, pc: m.pc)
            let jit = try JITInstance(program: program, registers: m.registers, gas: m.gas, pc: m.pc, setUp: setUp)
            let a = drive(interpreter, m, maxExits, host)
            let b = drive(jit, m, maxExits, host)
            XCTAssertEqual(a, b, "interpreter and JIT disagree", file: file, line: line)
            return a
        } catch {
            XCTFail("cannot run: \(error)", file: file, line: line)
            return Outcome(reason: .panic, pc: 0, registers: [], gas: 0, pages: [])
        }
    }

    static func drive(_ machine: any PVMInstance, _ m: Machine, _ maxExits: Int,
                      _ host: ((UInt64, any PVMInstance) -> Void)?) -> Outcome {
        var reason = machine.run()
        var exits = 1
        while case .hostCall(let id) = reason, let host, exits < maxExits {
            host(id, machine)
            reason = machine.run()
            exits += 1
        }
        let pages = m.pages.map { machine.readMemory($0.address, count: Int($0.length)) }
        return Outcome(reason: reason, pc: machine.pc, registers: machine.registers, gas: machine.gas, pages: pages)
    }
}
