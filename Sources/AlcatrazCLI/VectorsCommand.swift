import ArgumentParser
import ConformanceVectors
import Foundation
import PVM
import SandboxedExecution
import WireProtocol

/// `alcatraz vectors DIR`: runs every JAM PVM test vector in DIR and reports each failure.
struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Run every JAM PVM test-vector JSON file in a directory.",
        discussion: "Prints each failure with a diff and ends with 'N passed, M failed'; exits 1 on any failure."
    )

    @Argument(help: "Directory holding the *.json vectors (or its parent with a programs/ folder).")
    var directory: String

    @Option(help: "Execution engine.")
    var engine: EngineChoice = .interpreter

    @Flag(help: "Print one line per passing vector too.")
    var verbose = false

    @Flag(help: "Run every vector in its own locked-down worker (alcatraz-worker next to this executable).")
    var sandbox = false

    /// The spawner for `--sandbox`, started once for all vectors.
    final class Sandboxed {
        let executor: SandboxedExecutor
        var nextID: UInt64 = 1
        init() throws { executor = try SandboxedExecutor(workerPath: SandboxedExecutor.workerNextToThisExecutable()) }

        func run(_ vector: TestVector, _ engine: Engine) throws -> VectorOutcome {
            nextID += 1
            return try executor.run(vector, engine: engine, jobId: nextID)
        }
    }

    /// Differences from the expected outcome (and, for `both`, between the engines).
    func check(_ vector: TestVector, sandboxed: Sandboxed?) throws -> [String] {
        let expected = VectorRunner.expected(vector)
        if let sandboxed {
            switch engine {
            case .interpreter:
                return VectorRunner.diff(expected: expected, actual: try sandboxed.run(vector, .interpreter))
            case .jit:
                return VectorRunner.diff(expected: expected, actual: try sandboxed.run(vector, .jit))
            case .both:
                let i = try sandboxed.run(vector, .interpreter)
                let j = try sandboxed.run(vector, .jit)
                return VectorRunner.diff(expected: expected, actual: i, labels: ("expected", "interpreter"))
                    + VectorRunner.diff(expected: i, actual: j, labels: ("interpreter", "jit"))
            }
        }
        switch engine {
        case .interpreter:
            return VectorRunner.diff(expected: expected, actual: try VectorRunner.run(vector, on: InterpreterEngine()))
        case .jit:
            return VectorRunner.diff(expected: expected, actual: try VectorRunner.run(vector, on: RecompilerEngine()))
        case .both:
            let i = try VectorRunner.run(vector, on: InterpreterEngine())
            let j = try VectorRunner.run(vector, on: RecompilerEngine())
            return VectorRunner.diff(expected: expected, actual: i, labels: ("expected", "interpreter"))
                + VectorRunner.diff(expected: i, actual: j, labels: ("interpreter", "jit"))
        }
    }

    func run() throws {
        let vectors = try TestVector.loadAll(from: URL(fileURLWithPath: directory))
        var passed = 0, failed = 0
        let sandboxed = sandbox ? try Sandboxed() : nil
        for (url, loaded) in vectors {
            let name = url.deletingPathExtension().lastPathComponent
            let problems: [String]
            switch loaded {
            case .failure(let error):
                problems = ["cannot read the vector: \(error)"]
            case .success(let vector):
                do {
                    problems = try check(vector, sandboxed: sandboxed)
                } catch {
                    problems = ["engine error: \(error)"]
                }
            }
            if problems.isEmpty {
                passed += 1
                if verbose { print("ok   \(name)") }
            } else {
                failed += 1
                print("FAIL \(name)")
                for line in problems { print("     \(line)") }
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 || vectors.isEmpty { throw ExitCode(1) }
    }
}
