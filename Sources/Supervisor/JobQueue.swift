// The bounded priority queue: one FIFO per priority, each holding at most `depth` jobs (a full
// one answers `overloaded` instead of growing), served by weighted round robin so that disputes
// go first, then approvals, then backing, and yet backing is never starved: while all three
// wait, each round serves up to `weights.dispute` disputes, `weights.approval` approvals and
// `weights.backing` backing jobs, in that order.
import WireProtocol

/// A FIFO with O(1) amortised push and pop.
struct FIFO<Element> {
    private var items: [Element?] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func push(_ item: Element) { items.append(item) }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        items[head] = nil
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }

    mutating func removeAll() -> [Element] {
        let out = items[head...].compactMap { $0 }
        items = []
        head = 0
        return out
    }
}

struct JobQueue<Job> {
    let depth: Int
    let weights: SchedulerWeights
    private var queues: [FIFO<Job>] = [FIFO(), FIFO(), FIFO()]
    private var credits: [UInt32]

    /// Highest priority first.
    private static var order: [Priority] { [.dispute, .approval, .backing] }

    init(depth: Int, weights: SchedulerWeights) {
        self.depth = depth
        self.weights = weights
        credits = [weights.backing, weights.approval, weights.dispute]
    }

    func count(_ priority: Priority) -> Int { queues[Int(priority.rawValue)].count }

    var totalCount: Int { queues.reduce(0) { $0 + $1.count } }

    /// Appends `job`; false (and nothing queued) when that priority's queue is full.
    mutating func push(_ job: Job, priority: Priority) -> Bool {
        let index = Int(priority.rawValue)
        guard queues[index].count < depth else { return false }
        queues[index].push(job)
        return true
    }

    /// The next job by weighted round robin, or nil when all queues are empty.
    mutating func pop() -> Job? {
        for _ in 0..<2 {
            for priority in Self.order {
                let index = Int(priority.rawValue)
                if credits[index] > 0, let job = queues[index].pop() {
                    credits[index] -= 1
                    return job
                }
            }
            // Every waiting priority has used its share of this round: start the next one.
            credits = [weights.backing, weights.approval, weights.dispute]
        }
        return nil
    }

    /// Empties every queue (for shutdown), highest priority first.
    mutating func removeAll() -> [Job] {
        Self.order.flatMap { queues[Int($0.rawValue)].removeAll() }
    }
}
