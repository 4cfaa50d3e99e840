// alcatraz-bench: interpreter vs JIT execution speed, JIT compile speed, one-shot cost.
// Usage: see `alcatraz-bench --help` and Benchmarks/README.md.
import Foundation
import JIT
import PVM

let usage = """
usage: alcatraz-bench [options]
  --reps N          repetitions per measurement (default 5); medians and minima are reported
  --only WHAT       exec | compile | all (default all)
  --programs DIR    the .pvmasm programs (default Benchmarks/programs)
  --sizes LIST      compile benchmark code sizes in MB (default 1,4,16)
  --quick           small workloads (a smoke test, not for quoting)
  --json            print the report as JSON instead of tables
  --quiet           no progress lines on stderr
  --compile-file F  time --reps compiles of the program (standard program or bare blob) in F
  --compile-once F  (internal) time one compile of the blob in file F in this fresh process
"""

struct Options {
    var reps = 5
    var only = "all"
    var programs = "Benchmarks/programs"
    var sizes = [1, 4, 16]
    var quick = false
    var json = false
    var quiet = false

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var it = args.makeIterator()
        func value(_ flag: String) throws -> String {
            guard let v = it.next() else { throw BenchError("\(flag) needs a value") }
            return v
        }
        while let a = it.next() {
            switch a {
            case "--reps":
                guard let n = Int(try value(a)), n >= 1 else { throw BenchError("--reps must be >= 1") }
                o.reps = n
            case "--only":
                o.only = try value(a)
                guard ["exec", "compile", "all"].contains(o.only) else { throw BenchError("--only exec|compile|all") }
            case "--programs": o.programs = try value(a)
            case "--sizes":
                let s = try value(a).split(separator: ",").compactMap { Int($0) }
                guard !s.isEmpty, s.allSatisfy({ $0 >= 1 && $0 <= 64 }) else { throw BenchError("--sizes: MB values 1…64") }
                o.sizes = s
            case "--quick": o.quick = true
            case "--json": o.json = true
            case "--quiet": o.quiet = true
            case "-h", "--help": print(usage); exit(0)
            default: throw BenchError("unknown option \(a)\n\(usage)")
            }
        }
        return o
    }
}

func main() -> Int32 {
    do {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.count == 2, args[0] == "--compile-once" {
            try CompileBench.compileOnce(path: args[1])
            return 0
        }
        if let k = args.firstIndex(of: "--compile-file"), k + 1 < args.count {
            var rest = args
            rest.removeSubrange(k...(k + 1))
            try CompileBench.compileFile(path: args[k + 1], reps: try Options.parse(rest).reps)
            return 0
        }
        let o = try Options.parse(args)
        guard JITInstance.isSupported else { throw BenchError("this CPU cannot run the JIT (POPCNT, LZCNT, BMI1, BMI2)") }
        let log: (String) -> Void = { line in
            if !o.quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        var report = Report(machine: MachineInfo.current(), reps: o.reps, execution: [], compile: [])
        if o.only != "compile" {
            for p in BenchProgram.all(quick: o.quick) {
                log("execution: \(p.name) (\(p.what))")
                report.execution.append(try ExecutionBench.run(p, directory: o.programs, reps: o.reps, log: log))
            }
        }
        if o.only != "exec" {
            for mb in (o.quick ? [1] : o.sizes) {
                log("compile: \(mb) MB")
                report.compile.append(try CompileBench.run(megabytes: mb, reps: o.reps, log: log))
            }
        }
        print(o.json ? try Table.json(report) : Table.text(report))
        return 0
    } catch {
        FileHandle.standardError.write(Data("alcatraz-bench: error: \(error)\n".utf8))
        return 1
    }
}

exit(main())
