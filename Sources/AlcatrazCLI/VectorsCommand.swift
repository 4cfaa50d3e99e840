import ArgumentParser
import ConformanceVectors
import Foundation
import PVM

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

    /// Differences from the expected outcome (and, for `both`, between the engines).
    func check(_ vector: TestVector) throws -> [String] {
        let expected = VectorRunner.expected(vector)
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
        for (url, loaded) in vectors {
            let name = url.deletingPathExtension().lastPathComponent
            let problems: [String]
            switch loaded {
            case .failure(let error):
                problems = ["cannot read the vector: \(error)"]
            case .success(let vector):
                do {
                    problems = try check(vector)
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
