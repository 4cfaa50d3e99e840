import ArgumentParser
import Foundation
import Linker
import PVM

/// `alcatraz link IN.elf -o OUT.pvm`: translates a static RV64EMAC ELF into a standard program.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Translate a static RV64EMAC ELF (ld.lld --emit-relocs) into a PVM standard program.",
        discussion: """
        The ELF is what scripts/build-guest.sh produces from C with the SDK in Guest/sdk \
        (docs/guest-sdk.md). Unsupported input (floating point, atomics, gp/tp, ecall, missing \
        relocations, a malformed file) is rejected with the instruction, section and offset.
        """
    )

    @Argument(help: "The ELF executable.")
    var input: String

    @Option(name: .shortAndLong, help: "The standard program to write.")
    var output: String

    @Option(help: "Stack size in bytes (overrides ALCATRAZ_STACK_SIZE; default 64 KiB).")
    var stackSize: UInt32?

    @Flag(help: "Print sizes, counts and the time the translation took.")
    var verbose = false

    func run() throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: input)) } catch {
            throw CLIError("cannot read \(input): \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = threadCPUNanoseconds()
        let result: (program: StandardProgram, statistics: LinkStatistics)
        do {
            result = try Linker.linkWithStatistics(elf: bytes, options: LinkOptions(stackSize: stackSize))
        } catch {
            throw CLIError("\(input): \(error)")
        }
        let encoded = result.program.encoded()
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        let cpu = threadCPUNanoseconds() - cpuStart
        do { try Data(encoded).write(to: URL(fileURLWithPath: output)) } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        if verbose {
            let p = result.program, s = result.statistics
            print("""
            \(input) -> \(output): \(encoded.count) bytes
              code: \(s.riscvInstructions) RISC-V -> \(s.pvmInstructions) PVM instructions, \(p.blob.code.count) bytes, \(s.jumpTableEntries) jump-table entries
              data: read-only \(p.readOnlyData.count) bytes, read-write \(p.readWriteData.count) bytes + \(p.extraHeapPages) zero pages, stack \(p.stackSize) bytes
              relocations applied: \(s.relocations); link time \(String(format: "%.2f", Double(elapsed) / 1e6)) ms (CPU \(String(format: "%.2f", Double(cpu) / 1e6)) ms) (ELF \(bytes.count) bytes)
            """)
        }
    }
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds.
func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
