// The spawner's warm-up: one small job, run in the spawner itself before it forks any worker,
// through the same code a worker runs (frame decoding, program decoding, both engines, the
// host-call path, result encoding). Every worker is a fork of the spawner and inherits what
// that job left behind: the Swift runtime's protocol-conformance and metadata caches (filled on
// first use by scanning the binary's conformance tables, the largest single cost of a cold
// worker's job in a profile of the daemon under load), the JIT's CPU-feature answer (cpuid
// traps to the hypervisor in a VM) and its fault handler, installed once with default
// dispositions underneath, exactly as a worker's own preparation would leave it.
//
// It runs with sealing off: the seal (memory-deny-write-execute, or a seccomp filter on older
// kernels) is inherited by forks and would forbid every later worker to make its code executable.
import JIT
import PVM
import WireProtocol

enum WarmUp {
    /// `warm.pvmasm`, assembled with `alcatraz asm` (129 bytes): reverses the input (at most 64
    /// bytes) in a loop of loads and stores, makes one host call (`gas`), and halts.
    ///
    ///     .stack_size 4096
    ///     .rw_data
    ///     buffer: .zero 64
    ///     .code
    ///             load_imm      t0, 64
    ///             branch_ge_u   t0, a1, fits
    ///             move_reg      a1, t0
    ///             fallthrough
    ///     fits:   load_imm      t1, buffer
    ///             add_64        t2, a0, a1
    ///             fallthrough
    ///     loop:   branch_eq     t2, a0, done
    ///             add_imm_64    t2, t2, -1
    ///             load_ind_u8   s0, t2, 0
    ///             store_ind_u8  s0, t1, 0
    ///             add_imm_64    t1, t1, 1
    ///             jump          loop
    ///     done:   ecalli        0
    ///             load_imm      a0, buffer
    ///             jump_ind      ra, 0
    static let program: [UInt8] = [0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0x10, 0, 0]
        + [UInt8](repeating: 0, count: 63)
        + [0x32, 0, 0, 0, 0, 0, 0x29, 0x33, 0x02, 0x40, 0xae, 0x82, 0x06, 0x64, 0x28, 0x01, 0x33, 0x03,
           0, 0, 0x02, 0xc8, 0x87, 0x04, 0x01, 0xaa, 0x74, 0x0f, 0x95, 0x44, 0xff, 0x7c, 0x45, 0x78,
           0x35, 0x95, 0x33, 0x01, 0x28, 0xf3, 0x0a, 0x33, 0x07, 0, 0, 0x02, 0x32, 0, 0x49, 0x43,
           0x26, 0x95, 0x86, 0]

    static let input: [UInt8] = [1, 2, 3, 4, 5]

    /// Runs the job on every engine; nil when each gave the expected answer, else what went wrong.
    static func run() -> String? {
        JobRunner.sealsExecutableMemory = false
        defer {
            JobRunner.sealsExecutableMemory = true
            // Workers fork from the spawner: they must not inherit the warm-up's machines.
            JobRunner.retired.removeAll()
        }
        for engine in Engine.allCases {
            let job = WorkerJob(jobId: 1, blob: program, input: input, gasLimit: 10_000,
                                limits: WorkerLimits(maxGuestMemoryBytes: 1 << 20, maxStackBytes: 4096, engine: engine))
            let frame = Frame.encode(WorkerMessage.job(job))
            let answer: WorkerMessage?
            do {
                let request = try WorkerMessage.decode(Array(frame[Frame.headerSize...]))
                answer = try JobRunner.answer(request)
            } catch {
                return "\(engine): \(error)"
            }
            guard case let .result(result)? = answer, case let .halt(state) = result.outcome,
                  state.output == input.reversed()
            else { return "\(engine): unexpected answer \(String(describing: answer))" }
            _ = Frame.encode(WorkerMessage.result(result))
        }
        return nil
    }
}
