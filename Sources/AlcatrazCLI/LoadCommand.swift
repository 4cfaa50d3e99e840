// `alcatraz load`: a load generator for alcatrazd. C tasks share K connections and send N
// validations in all (closed loop, or paced to --rate); prints throughput, latency percentiles
// and the count of each verdict, and exits non-zero if any request went unanswered or any
// answer matched no request in flight (a second answer).
import AlcatrazClient
import ArgumentParser
import Foundation
import Synchronization

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Send many validations to alcatrazd and report throughput, latency and verdicts."
    )

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The program: binary (.pvm) or assembly source (.pvmasm, .s).") var blob: String
    @Option(help: "Requests in flight at once.") var concurrency: Int = 64
    @Option(help: "Requests in all.") var requests: Int = 10_000
    @Option(help: "Connections shared by the tasks (default: min(concurrency, 8)).") var connections: Int?
    @Option(help: "Target requests per second (default: as fast as answers come).") var rate: Double?
    @Option(help: "Input bytes as hex.") var inputHex: String?
    @Option(help: "Gas limit.") var gas: UInt64 = 1_000_000
    @Option(help: "backing, approval or dispute.") var priority: Priority = .backing
    @Flag(help: "Register the blob once and send its hash in every request.") var byHash = false
    @Flag(help: "Print a machine-readable JSON summary.") var json = false

    func validate() throws {
        guard concurrency >= 1, requests >= 1 else { throw ValidationError("--concurrency and --requests must be positive") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() async throws {
        let code = try loadBlob(blob)
        let input = try readInput(hex: inputHex, path: nil)
        let count = connections ?? min(concurrency, 8)
        var pool: [AlcatrazConnection] = []
        for _ in 0..<max(1, count) { pool.append(try await daemon.connect()) }
        defer { for connection in pool { connection.close() } }
        let source: CodeSource = byHash ? .hash(try await pool[0].register(code)) : .inline(code)

        let issued = Ticket()
        let total = requests
        let interval = rate.map { 1e9 / $0 }
        let start = DispatchTime.now().uptimeNanoseconds
        let shares = await withTaskGroup(of: TaskTally.self) { group in
            for index in 0..<concurrency {
                let connection = pool[index % pool.count]
                group.addTask { [gas, priority] in
                    var tally = TaskTally()
                    while true {
                        let n = issued.take()
                        if n >= total { break }
                        if let interval {
                            let due = start + UInt64(Double(n) * interval)
                            let now = DispatchTime.now().uptimeNanoseconds
                            if due > now { try? await Task.sleep(nanoseconds: due - now) }
                        }
                        let sent = DispatchTime.now().uptimeNanoseconds
                        do {
                            let result = try await connection.validate(code: source, input: input, gasLimit: gas, priority: priority)
                            tally.latencies.append(DispatchTime.now().uptimeNanoseconds - sent)
                            tally.kinds[verdictKind(result.verdict), default: 0] += 1
                        } catch {
                            tally.failures[String(describing: error), default: 0] += 1
                        }
                    }
                    return tally
                }
            }
            var all: [TaskTally] = []
            for await share in group { all.append(share) }
            return all
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var latencies = shares.flatMap(\.latencies)
        latencies.sort()
        var kinds: [String: Int] = [:]
        var failures: [String: Int] = [:]
        for share in shares {
            kinds.merge(share.kinds, uniquingKeysWith: +)
            failures.merge(share.failures, uniquingKeysWith: +)
        }
        let answered = latencies.count
        let unanswered = requests - answered
        let unmatched = pool.reduce(0) { $0 + $1.unmatchedAnswers }
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = min(latencies.count - 1, Int((p / 100 * Double(latencies.count)).rounded(.up)) - 1)
            return Double(latencies[max(0, index)]) / 1000
        }
        let summary: [(String, Double)] = [("p50", percentile(50)), ("p90", percentile(90)), ("p99", percentile(99)),
                                           ("p99.9", percentile(99.9)), ("max", percentile(100))]
        if json {
            var object: [String: Any] = ["requests": requests, "answered": answered, "unanswered": unanswered,
                                         "unmatched_answers": unmatched,
                                         "concurrency": concurrency, "connections": pool.count, "seconds": elapsed,
                                         "throughput_per_s": Double(answered) / elapsed, "verdicts": kinds,
                                         "failures": failures]
            for (name, value) in summary { object["latency_\(name)_us"] = value }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("requests     \(requests) (concurrency \(concurrency), \(pool.count) connections\(rate.map { ", target \(Int($0))/s" } ?? ""))")
            print("answered     \(answered), unanswered \(unanswered), answers to no request in flight \(unmatched)")
            print(String(format: "elapsed      %.3f s, throughput %.0f validations/s", elapsed, Double(answered) / elapsed))
            print("latency µs   " + summary.map { String(format: "%@ %.0f", $0.0, $0.1) }.joined(separator: ", "))
            print("verdicts     " + kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            if !failures.isEmpty {
                print("failures     " + failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
            }
        }
        if unanswered > 0 || unmatched > 0 { throw ExitCode(1) }
    }
}

/// Hands out request numbers 0, 1, 2, ... to the tasks.
final class Ticket: Sendable {
    private let next = Atomic<Int>(0)
    func take() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

struct TaskTally: Sendable {
    var latencies: [UInt64] = []
    var kinds: [String: Int] = [:]
    var failures: [String: Int] = [:]
}
