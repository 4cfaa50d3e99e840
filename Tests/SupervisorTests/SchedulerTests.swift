// The scheduler and its queue with a fake executor: priorities, fairness, bounds, deadlines,
// draining, and exactly-once answers. No processes, no sockets.
import Foundation
import Synchronization
import WireProtocol
import XCTest
@testable import Supervisor

/// An executor whose jobs finish when the test says so (or at once with `autoComplete`).
final class FakeExecutor: JobExecutor, @unchecked Sendable {
    let capacity: Int
    var readyWorkers: Int { capacity }
    private let lock = NSLock()
    private var running: [(WorkerJob, UInt64, @Sendable (ExecutionResult) -> Void)] = []
    private(set) var started: [WorkerJob] = []
    var autoComplete: ((WorkerJob) -> Verdict)?

    init(capacity: Int) { self.capacity = capacity }

    func execute(_ job: WorkerJob, deadline: UInt64, completion: @escaping @Sendable (ExecutionResult) -> Void) {
        lock.lock()
        started.append(job)
        if let autoComplete {
            lock.unlock()
            completion(ExecutionResult(verdict: autoComplete(job)))
            return
        }
        running.append((job, deadline, completion))
        lock.unlock()
    }

    var runningCount: Int { lock.lock(); defer { lock.unlock() }; return running.count }

    /// Completes the oldest running job.
    func completeOne(_ verdict: Verdict = .valid(output: [], gasUsed: 1)) {
        lock.lock()
        let (_, _, completion) = running.removeFirst()
        lock.unlock()
        completion(ExecutionResult(verdict: verdict))
    }

    func shutdown() {}
}

/// Collects answers and checks each request is answered exactly once.
final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var byId: [UInt64: [ValidationResult]] = [:]
    private(set) var order: [UInt64] = []

    func record(_ result: ValidationResult) {
        lock.lock()
        byId[result.requestId, default: []].append(result)
        order.append(result.requestId)
        lock.unlock()
    }

    func verdict(_ id: UInt64) -> Verdict? { lock.lock(); defer { lock.unlock() }; return byId[id]?.first?.verdict }
    var count: Int { lock.lock(); defer { lock.unlock() }; return order.count }
    var answeredOnce: Bool { lock.lock(); defer { lock.unlock() }; return byId.values.allSatisfy { $0.count == 1 } }
}

func job(_ id: UInt64, _ priority: Priority = .backing, deadline: UInt64? = nil, to answers: Answers) -> PendingJob {
    PendingJob(requestId: id, blob: [1], input: [UInt8(truncatingIfNeeded: id)], gasLimit: 10, priority: priority,
               receivedAt: Monotonic.now(), deadline: deadline) { answers.record($0) }
}

final class SchedulerTests: XCTestCase {
    func limits(depth: UInt32 = 4) -> Limits {
        var l = Limits()
        l.queueDepth = depth
        return l
    }

    func testRunsAtMostCapacityAndAnswersEveryJobOnce() {
        let executor = FakeExecutor(capacity: 2)
        let scheduler = Scheduler(executor: executor, limits: limits(depth: 100), weights: SchedulerWeights())
        let answers = Answers()
        for id in 1...10 { XCTAssertEqual(scheduler.submit(job(UInt64(id), to: answers)), .accepted) }
        XCTAssertEqual(executor.runningCount, 2)
        XCTAssertEqual(scheduler.queued.backing, 8)
        for _ in 1...10 {
            XCTAssertLessThanOrEqual(executor.runningCount, 2)
            executor.completeOne()
        }
        XCTAssertEqual(answers.count, 10)
        XCTAssertTrue(answers.answeredOnce)
        XCTAssertEqual(scheduler.running, 0)
    }

    func testFullQueueAnswersOverloadedInsteadOfGrowing() {
        let executor = FakeExecutor(capacity: 1)
        let scheduler = Scheduler(executor: executor, limits: limits(depth: 2), weights: SchedulerWeights())
        let answers = Answers()
        XCTAssertEqual(scheduler.submit(job(1, to: answers)), .accepted)  // running
        XCTAssertEqual(scheduler.submit(job(2, to: answers)), .accepted)
        XCTAssertEqual(scheduler.submit(job(3, to: answers)), .accepted)
        XCTAssertEqual(scheduler.submit(job(4, to: answers)), .overloaded)
        // The bound is per priority: disputes still get in.
        XCTAssertEqual(scheduler.submit(job(5, .dispute, to: answers)), .accepted)
    }

    func testDisputesFirstThenApprovalsThenBacking() {
        let executor = FakeExecutor(capacity: 1)
        let scheduler = Scheduler(executor: executor, limits: limits(depth: 10), weights: SchedulerWeights())
        let answers = Answers()
        _ = scheduler.submit(job(100, to: answers))  // occupies the worker
        _ = scheduler.submit(job(1, .backing, to: answers))
        _ = scheduler.submit(job(2, .approval, to: answers))
        _ = scheduler.submit(job(3, .dispute, to: answers))
        for _ in 0..<4 { executor.completeOne() }
        XCTAssertEqual(executor.started.map(\.input), [[100], [3], [2], [1]])
    }

    func testBackingIsNotStarvedByDisputes() {
        var weights = SchedulerWeights()
        weights.dispute = 3
        weights.approval = 2
        weights.backing = 1
        var queue = JobQueue<Int>(depth: 100, weights: weights)
        for i in 0..<20 { _ = queue.push(i, priority: .dispute) }
        for i in 100..<110 { _ = queue.push(i, priority: .backing) }
        var served: [Int] = []
        for _ in 0..<8 { served.append(queue.pop()!) }
        // Rounds of 3 disputes and 1 backing (no approvals waiting).
        XCTAssertEqual(served, [0, 1, 2, 100, 3, 4, 5, 101])
    }

    func testDeadlinePassedWhileQueuedIsTimedOutWithoutRunning() {
        let executor = FakeExecutor(capacity: 1)
        let scheduler = Scheduler(executor: executor, limits: limits(), weights: SchedulerWeights())
        let answers = Answers()
        _ = scheduler.submit(job(1, to: answers))
        _ = scheduler.submit(job(2, deadline: Monotonic.now(), to: answers))
        executor.completeOne()
        XCTAssertEqual(answers.verdict(2), .error(.timedOut))
        XCTAssertEqual(executor.started.count, 1)
    }

    func testALongRunOfExpiredJobsIsAnsweredInALoop() {
        // Answered one after the other as the slot frees; by recursion this depth overflowed the stack.
        let executor = FakeExecutor(capacity: 1)
        let expired = 60_000
        let scheduler = Scheduler(executor: executor, limits: limits(depth: UInt32(expired + 10)), weights: SchedulerWeights())
        let answers = Answers()
        _ = scheduler.submit(job(0, to: answers))
        let past = Monotonic.now()
        for id in 1...expired { _ = scheduler.submit(job(UInt64(id), deadline: past, to: answers)) }
        _ = scheduler.submit(job(UInt64(expired + 1), to: answers))
        executor.completeOne()
        XCTAssertEqual(answers.count, expired + 1)
        XCTAssertEqual(answers.verdict(1), .error(.timedOut))
        XCTAssertEqual(answers.verdict(UInt64(expired)), .error(.timedOut))
        XCTAssertEqual(executor.started.map(\.input), [[0], [UInt8(truncatingIfNeeded: expired + 1)]])
        executor.completeOne()
        XCTAssertEqual(answers.count, expired + 2)
        XCTAssertTrue(answers.answeredOnce)
    }

    func testDrainAnswersQueuedShuttingDownAndWaitsForRunning() {
        let executor = FakeExecutor(capacity: 2)
        let scheduler = Scheduler(executor: executor, limits: limits(depth: 10), weights: SchedulerWeights())
        let answers = Answers()
        for id in 1...5 { _ = scheduler.submit(job(UInt64(id), to: answers)) }
        let idle = Mutex(false)
        scheduler.drain { idle.withLock { $0 = true } }
        XCTAssertEqual(answers.count, 3)
        for id in 3...5 { XCTAssertEqual(answers.verdict(UInt64(id)), .error(.shuttingDown)) }
        XCTAssertFalse(idle.withLock { $0 })
        XCTAssertEqual(scheduler.submit(job(9, to: answers)), .shuttingDown)
        executor.completeOne()
        executor.completeOne()
        XCTAssertTrue(idle.withLock { $0 })
        XCTAssertEqual(answers.count, 5)
        XCTAssertTrue(answers.answeredOnce)
    }

    func testManyThreadsSubmittingGetExactlyOneAnswerEach() {
        let executor = FakeExecutor(capacity: 3)
        executor.autoComplete = { .valid(output: $0.input, gasUsed: 1) }
        let scheduler = Scheduler(executor: executor, limits: limits(depth: 10_000), weights: SchedulerWeights())
        let answers = Answers()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<500 {
                let id = UInt64(thread * 1000 + i)
                XCTAssertEqual(scheduler.submit(job(id, Priority(rawValue: UInt8(i % 3))!, to: answers)), .accepted)
            }
        }
        XCTAssertEqual(answers.count, 4000)
        XCTAssertTrue(answers.answeredOnce)
    }
}

final class CodeCacheTests: XCTestCase {
    func testEvictsLeastRecentlyUsedByCount() {
        let cache = CodeCache(maxEntries: 2, maxBytes: 1000)
        let a = cache.register([1]), b = cache.register([2])
        XCTAssertNotNil(cache.lookup(a))  // a is now more recent than b
        let c = cache.register([3])
        XCTAssertNil(cache.lookup(b))
        XCTAssertNotNil(cache.lookup(a))
        XCTAssertNotNil(cache.lookup(c))
        XCTAssertEqual(a, BlobHash.of([1]))
    }

    func testBoundedByBytes() {
        let cache = CodeCache(maxEntries: 100, maxBytes: 10)
        let a = cache.register([UInt8](repeating: 1, count: 6))
        let b = cache.register([UInt8](repeating: 2, count: 6))
        XCTAssertNil(cache.lookup(a))
        XCTAssertNotNil(cache.lookup(b))
        XCTAssertLessThanOrEqual(cache.byteCount, 10)
        cache.register([UInt8](repeating: 3, count: 11))  // larger than the bound: not kept
        XCTAssertEqual(cache.count, 1)
    }
}
