import ArgumentParser
import Foundation
import PVM
import PVMAssembler

/// `alcatraz asm FILE -o OUT`: assembles a PVM assembly source into a standard program.
struct AsmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asm",
        abstract: "Assemble PVM assembly (docs/assembly.md) into a standard program or a bare blob."
    )

    @Argument(help: "The assembly source.")
    var file: String

    @Option(name: .short, help: "Where to write the program.")
    var output: String

    @Flag(help: "Write a bare program blob (jump table, code, bitmask) instead of a standard program.")
    var blob = false

    func run() throws {
        let source: String
        do { source = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw CLIError("cannot read \(file): \(error.localizedDescription)")
        }
        let bytes: [UInt8]
        do {
            bytes = blob ? try Assembler.assembleBlob(source).encoded() : try Assembler.assemble(source).encoded()
        } catch {
            throw CLIError("\(file):\(error)")
        }
        do { try Data(bytes).write(to: URL(fileURLWithPath: output)) } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        print("\(output): \(bytes.count) bytes")
    }
}

/// `alcatraz disasm FILE`: prints a standard program or blob as assembly.
struct DisasmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disasm",
        abstract: "Disassemble a standard program (or, with --blob, a bare program blob)."
    )

    @Argument(help: "The binary program.")
    var file: String

    @Flag(help: "The file is a bare program blob, not a standard program.")
    var blob = false

    func run() throws {
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file))) } catch {
            throw CLIError("cannot read \(file): \(error.localizedDescription)")
        }
        do {
            if blob {
                print(Disassembler.disassemble(try ProgramBlob(decoding: data)), terminator: "")
            } else {
                print(Disassembler.disassemble(try StandardProgram(decoding: data)), terminator: "")
            }
        } catch {
            throw CLIError("\(file): bad code: \(error)")
        }
    }
}
