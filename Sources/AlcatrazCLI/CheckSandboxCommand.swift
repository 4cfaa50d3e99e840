import ArgumentParser
import Foundation
import PVM
import PVMAssembler
import SandboxedExecution
import WireProtocol

/// `alcatraz check-sandbox`: can this kernel run locked-down workers?
struct CheckSandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-sandbox",
        abstract: "Check that this kernel supports every layer of the worker sandbox.",
        discussion: """
        Runs `alcatraz-worker check-sandbox` (next to this executable), which tries each kernel \
        feature in a throwaway child with the production lockdown code and prints ok or the \
        failing step, errno and a hint. Then runs one job in a fully locked-down worker on each \
        engine. Exits 1 if any required feature fails.
        """
    )

    func run() throws {
        let workerPath = SandboxedExecutor.workerNextToThisExecutable()
        guard FileManager.default.isExecutableFile(atPath: workerPath) else {
            print("alcatraz-worker               FAILED: not found at \(workerPath)")
            print("    hint: install alcatraz-worker in the same directory as alcatraz")
            throw ExitCode(1)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: workerPath)
        process.arguments = ["check-sandbox"]
        process.environment = [:]
        try process.run()
        process.waitUntilExit()
        var ok = process.terminationReason == .exit && process.terminationStatus == 0
        // The whole path at once: spawner, lockdown, seccomp, one job per engine.
        for engine in Engine.allCases {
            let name = "sandboxed job (\(engine))"
            let padded = name + String(repeating: " ", count: max(0, 28 - name.count))
            do {
                let program = try Assembler.assemble("jump_ind ra, 0")  // halts; the output is the input
                let executor = try SandboxedExecutor(workerPath: workerPath)
                let result = try executor.run(WorkerJob(jobId: 1, program: program, input: [7], gas: 100, engine: engine))
                guard case let .halt(state) = result.outcome, state.output == [7] else {
                    throw CLIError("unexpected outcome \(result.outcome)")
                }
                print("\(padded) ok")
            } catch {
                ok = false
                print("\(padded) FAILED: \(error)")
                print("    hint: fix the features reported above first; if they are all ok, this is a bug: report it with this output")
            }
        }
        if !ok { throw ExitCode(1) }
    }
}
