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

    func run() throws {
        let vectors = try TestVector.loadAll(from: URL(fileURLWithPath: directory))
        let runner: any VectorEngine = InterpreterEngine()
        var passed = 0, failed = 0
        for (url, loaded) in vectors {
            let name = url.deletingPathExtension().lastPathComponent
            let problems: [String]
            switch loaded {
            case .failure(let error):
                problems = ["cannot read the vector: \(error)"]
            case .success(let vector):
                do {
                    let actual = try VectorRunner.run(vector, on: runner)
                    problems = VectorRunner.diff(expected: VectorRunner.expected(vector), actual: actual)
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
