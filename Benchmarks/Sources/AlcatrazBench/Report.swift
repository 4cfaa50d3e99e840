import Foundation

func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

/// Where and when the figures were taken.
struct MachineInfo: Codable {
    var date: String
    var nproc: Int
    var cpuModel: String
    var loadAverage: String
    var command: String

    static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "")
            .split(separator: " ").prefix(3).joined(separator: " ")
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return MachineInfo(date: f.string(from: Date()), nproc: ProcessInfo.processInfo.activeProcessorCount,
                           cpuModel: model, loadAverage: load,
                           command: CommandLine.arguments.joined(separator: " "))
    }
}

struct Report: Codable {
    var machine: MachineInfo
    var reps: Int
    var execution: [ExecutionResult]
    var compile: [CompileResult]
}

/// Plain-text tables (Markdown pipe tables, so they paste into docs/benchmarks.md as they are).
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { i, c in
                i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.enumerated().map { i, w in
            i == 0 ? String(repeating: "-", count: w + 2) : String(repeating: "-", count: w + 1) + ":"
        }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    static func ms(_ ns: Double) -> String { fixed(ns / 1e6, ns < 1e7 ? 2 : 1) }

    static func text(_ r: Report) -> String {
        var out: [String] = []
        let m = r.machine
        out.append("machine: \(m.cpuModel), nproc \(m.nproc), load average \(m.loadAverage)")
        out.append("date:    \(m.date)")
        out.append("command: \(m.command)")
        out.append("medians (min) of \(r.reps) interleaved repetitions; wall-clock time")
        if !r.execution.isEmpty {
            out.append("")
            out.append("Execution speed (run = GuestABI.invoke on a ready machine; M instr/s = gas used / run time)")
            out.append(render(
                ["program", "instructions", "interp ms", "interp M/s", "jit ms", "jit M/s", "jit/interp", "native ms", "jit/native"],
                r.execution.map { e in
                    [e.program, "\(e.interpreter.gasUsed)",
                     ms(e.interpreter.run.median), "\(fixed(e.interpreter.mipsMedian, 0)) (\(fixed(e.interpreter.mipsBest, 0)))",
                     ms(e.jit.run.median), "\(fixed(e.jit.mipsMedian, 0)) (\(fixed(e.jit.mipsBest, 0)))",
                     fixed(e.runSpeedup, 1) + "x", ms(e.native.median), fixed(e.jitOverNative, 2) + "x"]
                }))
            out.append("(native = the program's algorithm in Swift, swiftc -O, timed in the same repetitions: "
                       + "BenchProgram.native in Benchmarks/Sources/AlcatrazBench/Programs.swift)")
            out.append("")
            out.append("One-shot (program bytes -> verdict: parse, build the machine [JIT: + compile], run)")
            out.append(render(
                ["program", "code bytes", "interp setup ms", "interp total ms", "jit setup ms", "jit total ms", "jit/interp"],
                r.execution.map { e in
                    [e.program, "\(e.codeBytes)", ms(e.interpreter.setup.median), ms(e.interpreter.oneShot.median),
                     ms(e.jit.setup.median), ms(e.jit.oneShot.median), fixed(e.oneShotSpeedup, 1) + "x"]
                }))
            out.append("")
            out.append("Run time on this thread's CPU clock (median ms), to spot a loaded machine")
            out.append(render(["program", "interp cpu ms", "jit cpu ms", "jit/interp", "native cpu ms"], r.execution.map { e in
                [e.program, ms(e.interpreter.runCPU.median), ms(e.jit.runCPU.median),
                 fixed(e.interpreter.runCPU.median / e.jit.runCPU.median, 1) + "x", ms(e.nativeCPU.median)]
            }))
        }
        if !r.compile.isEmpty {
            out.append("")
            out.append("JIT compile speed (one thread; total = Recompiler.compile(blob), which decodes as it goes; 'interp decode' = DecodedProgram(blob), the interpreter's front end, not in the total)")
            out.append(render(
                ["size", "code bytes", "instructions", "interp decode ms", "JIT compile ms", "total ms", "total cpu ms", "MB/s (best)", "ns/instr", "native/guest"],
                r.compile.map { c in
                    ["\(c.targetMB) MB", "\(c.codeBytes)", "\(c.instructions)", ms(c.decode.median), ms(c.compile.median),
                     ms(c.total.median), ms(c.totalCPU.median), "\(fixed(c.mbPerSecond, 0)) (\(fixed(c.mbPerSecondBest, 0)))",
                     fixed(c.nsPerInstruction, 1), fixed(Double(c.nativeBytes) / Double(c.codeBytes), 1) + "x"]
                }))
            out.append(render(
                ["size", "interp decode cpu ms (min)", "JIT compile cpu ms (min)", "total cpu ms (min)", "MB/s by cpu (min)", "compile-only MB/s (min)"],
                r.compile.map { c in
                    let mb = Double(c.codeBytes) / 1e6
                    return ["\(c.targetMB) MB", "\(ms(c.decodeCPU.median)) (\(ms(c.decodeCPU.min)))",
                            "\(ms(c.compileCPU.median)) (\(ms(c.compileCPU.min)))", "\(ms(c.totalCPU.median)) (\(ms(c.totalCPU.min)))",
                            fixed(mb / (c.totalCPU.min / 1e9), 0), fixed(mb / (c.compileCPU.min / 1e9), 0)]
                }))
            out.append(render(
                ["size", "cold compile ms (min)", "cold cpu ms (min)", "cold MB/s", "cold ns/instr"],
                r.compile.map { c in
                    let mb = Double(c.codeBytes) / 1e6
                    return ["\(c.targetMB) MB", "\(ms(c.cold.median)) (\(ms(c.cold.min)))",
                            "\(ms(c.coldCPU.median)) (\(ms(c.coldCPU.min)))", fixed(mb / (c.cold.median / 1e9), 0),
                            fixed(c.cold.median / Double(c.instructions), 1)]
                }))
            out.append("(cold = Recompiler.compile(blob) as the first compile of a fresh process, as in a worker; "
                       + "the other tables repeat it in one process, whose freed buffers come back warm)")
            out.append("(parse = ProgramBlob(decoding:) of the same bytes, not in the total: "
                       + r.compile.map { "\($0.targetMB) MB \(ms($0.parse.median)) ms" }.joined(separator: ", ") + ")")
        }
        return out.joined(separator: "\n")
    }

    static func json(_ r: Report) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try e.encode(r), as: UTF8.self)
    }
}
