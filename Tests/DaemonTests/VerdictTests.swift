// End-to-end: the real alcatrazd (a subprocess) with real sandboxed worker processes. The
// scripted test worker makes every cause reproducible: valid, each invalid reason, a timeout,
// a crash, a seccomp kill, a worker without a result or with a broken one, a SIGKILL mid-job,
// an overloaded queue. Verdict classes must never mix.
import AlcatrazClient
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One validation of a scripted job (the input is the script).
func validate(_ connection: AlcatrazConnection, _ script: String, gas: UInt64 = 1000,
                  priority: Priority = .backing) async throws -> Verdict {
        try await connection.validate(code: .inline([1, 2, 3]), input: Array(script: script), gasLimit: gas,
                                      priority: priority).verdict
}

final class VerdictTests: XCTestCase {

    func testEachVerdictForEachCause() async throws {
        let port = Int.random(in: 20000..<40000)
        let daemon = try DaemonProcess(limits: ["workers = 2", "job_timeout_millis = 400"], metricsPort: port)
        let c = try await daemon.connect()
        let v = { (script: String) async throws -> Verdict in try await validate(c, script) }

        try await XCTAssertEqualAsync(await v("hello"), .valid(output: Array(script: "hello"), gasUsed: 100))
        try await XCTAssertEqualAsync(await v("panic"), .invalid(.panic(pc: 16)))
        try await XCTAssertEqualAsync(await v("oog"), .invalid(.outOfGas))
        try await XCTAssertEqualAsync(await v("fault"), .invalid(.pageFault(address: 0x10000)))
        try await XCTAssertEqualAsync(await v("badcode"), .invalid(.badCode(message: "scripted bad code")))
        // Not the program's fault: never invalid.
        try await XCTAssertEqualAsync(await v("hang"), .error(.timedOut))
        try await XCTAssertEqualAsync(await v("crash"), .error(.workerDied(signal: UInt32(SIGSEGV))))
        let seccomp = try await v("syscall")
        guard case .error(.sandboxFailure) = seccomp else { return XCTFail("seccomp kill gave \(seccomp)") }
        let exited = try await v("exit")
        guard case .error(.internal) = exited else { return XCTFail("exit without result gave \(exited)") }
        let garbage = try await v("garbage")
        guard case .error(.internal) = garbage else { return XCTFail("a garbage result gave \(garbage)") }
        let wrongJob = try await v("wrongjob")
        guard case .error(.internal) = wrongJob else { return XCTFail("a result for another job gave \(wrongJob)") }
        // Still serving after all that.
        try await XCTAssertEqualAsync(await v("again"), .valid(output: Array(script: "again"), gasUsed: 100))

        // Deadline from the request, shorter than the job timeout.
        let deadline = try await c.validate(code: .inline([1]), input: Array(script: "hang"), gasLimit: 1,
                                            deadlineMillis: 50).verdict
        XCTAssertEqual(deadline, .error(.timedOut))

        // Limits and the code cache.
        let big = try await c.validate(code: .inline([1]), input: [], gasLimit: 1 << 60).verdict
        XCTAssertEqual(big, .error(.limitExceeded(limit: .gas, requested: 1 << 60, maximum: 10_000_000_000)))
        let unknown = BlobHash.of([9, 9, 9])
        try await XCTAssertEqualAsync(try await c.validate(code: .hash(unknown), gasLimit: 1).verdict, .error(.unknownCode(unknown)))
        let hash = try await c.register([7, 7])
        XCTAssertEqual(hash, BlobHash.of([7, 7]))
        try await XCTAssertEqualAsync(try await c.validate(code: .hash(hash), input: Array(script: "x"), gasLimit: 1).verdict,
                                      .valid(output: Array(script: "x"), gasUsed: 100))

        let status = try await c.status()
        XCTAssertEqual(status.verdicts.valid, 3)
        XCTAssertEqual(status.verdicts.invalid, 4)
        XCTAssertEqual(status.cacheEntries, 1)

        let metrics = try httpGet(port: port, path: "/metrics")
        XCTAssertTrue(metrics.contains("alcatraz_verdicts_total{verdict=\"invalid\",reason=\"panic\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("alcatraz_sandbox_kills_total{reason=\"timeout\"} 2"), metrics)
        XCTAssertTrue(metrics.contains("alcatraz_sandbox_kills_total{reason=\"seccomp\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("alcatraz_request_duration_seconds_bucket"), metrics)
        XCTAssertTrue(metrics.contains("alcatraz_worker_spawns_total"), metrics)
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    /// The answer is read as soon as the worker writes it (on the event loop), not when the
    /// worker exits: a worker that stays alive after its answer still gets its verdict served
    /// long before the job's deadline (which would otherwise kill it and answer from its end).
    func testAnswerIsServedWithoutWaitingForTheWorkersExit() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 1", "job_timeout_millis = 30000"])
        let c = try await daemon.connect()
        let start = Date()
        try await XCTAssertEqualAsync(await validate(c, "linger"), .valid(output: Array(script: "linger"), gasUsed: 100))
        XCTAssertLessThan(Date().timeIntervalSince(start), 15, "the answer waited for the deadline")
        try await XCTAssertEqualAsync(await validate(c, "again"), .valid(output: Array(script: "again"), gasUsed: 100))
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    /// With several event loops, a worker's answer is often read on another loop than its
    /// client's connection, and hops over: every request still gets its own verdict, once.
    func testSeveralEventLoopsAnswerEveryRequestOnItsConnection() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 3"], topLevel: ["io_threads = 3"])
        var connections: [AlcatrazConnection] = []
        for _ in 0..<4 { connections.append(try await daemon.connect()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (c, connection) in connections.enumerated() {
                for i in 0..<12 {
                    group.addTask {
                        let script = i % 3 == 0 ? "panic" : "c\(c)r\(i)"
                        let verdict = try await validate(connection, script)
                        let expected: Verdict = i % 3 == 0 ? .invalid(.panic(pc: 16))
                            : .valid(output: Array(script: script), gasUsed: 100)
                        XCTAssertEqual(verdict, expected, script)
                    }
                }
            }
            try await group.waitForAll()
        }
        let status = try await connections[0].status()
        XCTAssertEqual(status.verdicts.valid, 32)
        XCTAssertEqual(status.verdicts.invalid, 16)
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    func testWorkerKilledMidJobIsWorkerDiedAndTheDaemonKeepsServing() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 1", "job_timeout_millis = 20000"])
        let c = try await daemon.connect()
        async let verdict = validate(c, "hang")
        // The busy worker is the spawner's child that keeps running (idle ones sleep in read;
        // a replacement being spawned runs only for the ~1 ms of its lockdown).
        usleep(300_000)
        var victim: Int32?
        for _ in 0..<200 where victim == nil {
            let running = Set(daemon.workerPids().filter { $0.state == "R" }.map(\.pid))
            usleep(30_000)
            victim = daemon.workerPids().first { $0.state == "R" && running.contains($0.pid) }?.pid
        }
        guard let victim else { return XCTFail("no running worker found:\n\(daemon.log)") }
        XCTAssertEqual(kill(victim, SIGKILL), 0)
        let died = try await verdict
        XCTAssertEqual(died, .error(.workerDied(signal: UInt32(SIGKILL))))
        try await XCTAssertEqualAsync(await validate(c, "after"), .valid(output: Array(script: "after"), gasUsed: 100))
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    func testSpawnerKilledIsRestartedAndTheDaemonKeepsServing() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 1"])
        let c = try await daemon.connect()
        let spawners = processTable().filter { $0.ppid == daemon.pid }.map(\.pid)
        XCTAssertEqual(spawners.count, 1)
        for pid in spawners { kill(pid, SIGKILL) }
        // Requests racing the restart may get error(sandboxFailure); never invalid, never lost.
        // A worker forked before the kill may still answer one job before the pool notices
        // (it is valid: that worker was locked down and ran it). What must follow is a restart
        // and valid answers from the new spawner's workers.
        var verdict = Verdict.error(.overloaded)
        var restarted = false
        for attempt in 0..<100 {
            verdict = try await validate(c, "back\(attempt)")
            restarted = daemon.log.contains("event=spawner_restarted")
            if case .valid = verdict, restarted { break }
            if case .valid = verdict {} else {
                guard case .error(.sandboxFailure) = verdict else { return XCTFail("\(verdict)") }
            }
            usleep(50_000)
        }
        guard case .valid = verdict, restarted else {
            return XCTFail("not serving after a spawner restart: \(verdict)\n\(daemon.log)")
        }
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    func testFullQueueAnswersOverloadedAndEveryRequestOnce() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 1", "queue_depth = 3"])
        let c = try await daemon.connect()
        let verdicts = try await withThrowingTaskGroup(of: Verdict.self) { group in
            for _ in 0..<12 { group.addTask { try await validate(c, "spin:400") } }
            var all: [Verdict] = []
            for try await verdict in group { all.append(verdict) }
            return all
        }
        XCTAssertEqual(verdicts.count, 12)
        let overloaded = verdicts.filter { $0 == .error(.overloaded) }.count
        let valid = verdicts.filter { if case .valid = $0 { return true }; return false }.count
        XCTAssertEqual(overloaded + valid, 12, "\(verdicts)")
        XCTAssertGreaterThanOrEqual(overloaded, 12 - 1 - 3 - 1, "1 running + 3 queued (+1 racing a finish)")
        XCTAssertGreaterThanOrEqual(valid, 4)
        // Disputes have their own queue.
        try await XCTAssertEqualAsync(await validate(c, "d", priority: .dispute), .valid(output: Array(script: "d"), gasUsed: 100))
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    func testSigtermAnswersEveryRequestInFlight() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 2", "queue_depth = 100"])
        let c = try await daemon.connect()
        let results = try await withThrowingTaskGroup(of: (Int, Verdict).self) { group in
            for i in 0..<20 {
                group.addTask { (i, try await validate(c, "spin:300")) }
            }
            let pid = daemon.pid
            group.addTask {
                try await Task.sleep(nanoseconds: 150_000_000)  // two jobs are running, 18 wait
                kill(pid, SIGTERM)
                return (-1, .valid(output: [], gasUsed: 0))
            }
            var all: [(Int, Verdict)] = []
            for try await result in group where result.0 >= 0 { all.append(result) }
            return all
        }
        XCTAssertEqual(Set(results.map(\.0)).count, 20, "every request answered exactly once")
        let valid = results.filter { if case .valid = $0.1 { return true }; return false }.count
        let shuttingDown = results.filter { $0.1 == .error(.shuttingDown) }.count
        XCTAssertEqual(valid + shuttingDown, 20, "\(results)")
        XCTAssertGreaterThanOrEqual(valid, 2, "the running jobs finish")
        XCTAssertEqual(try daemon.terminate(), 0)
        XCTAssertTrue(daemon.log.contains("event=stopped"), daemon.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socketPath), "the socket is removed")
    }

    func testPythonReferenceClientValidatesTheSampleBlob() throws {
        let daemon = try DaemonProcess(worker: "alcatraz-worker")
        let blob = Build.repository.appendingPathComponent("Guest/examples/echo.pvm").path
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", Build.repository.appendingPathComponent("scripts/alcatraz_client.py").path,
                            "--socket", daemon.socketPath, blob, "--input-hex", "48656c6c6f"]
        let out = Pipe()
        python.standardOutput = out
        try python.run()
        python.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(python.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("valid: output=48656c6c6f"), text)  // echo.pvm: output = input
        XCTAssertEqual(try daemon.terminate(), 0)
    }
}

func XCTAssertEqualAsync<T: Equatable>(_ a: @autoclosure () async throws -> T, _ b: T,
                                       file: StaticString = #filePath, line: UInt = #line) async throws {
    let value = try await a()
    XCTAssertEqual(value, b, file: file, line: line)
}
