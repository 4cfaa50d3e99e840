import Foundation
import JIT
import Linker
import PVM
import XCTest

/// Every example and benchmark, built from source: the same output under the interpreter, the
/// JIT and the native build of the same C.
final class GuestParityTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
    }

    func check(_ source: String, _ inputs: [[UInt8]], expect: ((Int, [UInt8]) -> Void)? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let program = try Linker.link(elf: try GuestBuild.elf(source))
        let native = try GuestBuild.native(source)
        for (i, input) in inputs.enumerated() {
            let r = try GuestBuild.runBoth(program, input: input, file: file, line: line)
            guard case .halt(let output) = r.status else {
                XCTFail("\(source) input \(i): \(r.status)", file: file, line: line)
                continue
            }
            XCTAssertEqual(output, try GuestBuild.runNative(native, input: input),
                           "\(source) input \(i): the PVM and the native build disagree", file: file, line: line)
            expect?(i, output)
        }
    }

    func testHello() throws {
        try check("Guest/examples/hello.c", [Array("Alice".utf8), []]) { i, out in
            XCTAssertEqual(String(decoding: out, as: UTF8.self), i == 0 ? "Hello, Alice!" : "Hello, world!")
        }
        let program = try Linker.link(elf: try GuestBuild.elf("Guest/examples/hello.c"))
        let r = try GuestBuild.runBoth(program, input: [])
        XCTAssertEqual(r.logs.map { String(decoding: $0.message, as: UTF8.self) }, ["hello: greeting"])
        XCTAssertEqual(r.logs.first?.level, 2)
    }

    func state(nonce: UInt64) -> [UInt8] { le64(nonce) + (0..<16).flatMap { le64(UInt64($0) * 1000) } }
    func block(nonce: UInt64, _ txs: [(UInt8, UInt8, UInt8, UInt64)]) -> [UInt8] {
        le64(nonce) + le32(UInt32(txs.count)) + txs.flatMap { [$0.0, $0.1, $0.2] + le64($0.3) }
    }

    func testCandidateValidation() throws {
        let txs: [(UInt8, UInt8, UInt8, UInt64)] = [(0, 1, 2, 500), (1, 0, 3, 1_000_000), (2, 4, 0, 100), (3, 5, 6, 0),
                                                   (4, 0, 0, 0), (5, 7, 8, 1000), (0, 3, 9, 999_999)]
        let inputs: [[UInt8]] = [
            state(nonce: 41) + block(nonce: 42, txs),
            state(nonce: 41) + block(nonce: 42, Array(txs.prefix(3)) + [(0, 1, 2, 1_000_000_000)]),
            state(nonce: 41) + block(nonce: 43, txs),
            state(nonce: 41) + block(nonce: 42, [(9, 1, 2, 3)]),
            state(nonce: 41) + block(nonce: 42, [(6, 1, 2, 3)]),
            state(nonce: 41) + block(nonce: 42, [(1, 2, 3, 4)]),
            state(nonce: 41) + block(nonce: 42, [(0, 1, 17, 4)]),
            Array(state(nonce: 41).prefix(50)),
            state(nonce: 41) + block(nonce: 42, txs) + [0],
        ]
        let expected = ["OK", "REJECT insufficient balance tx 3", "REJECT bad nonce tx 0", "REJECT unknown tx 0",
                        "REJECT reserved6 tx 0", "REJECT mint by non-treasury tx 0", "REJECT bad account tx 0",
                        "REJECT truncated header tx 0", "REJECT trailing bytes tx 7"]
        try check("Guest/examples/validate.c", inputs) { i, out in
            XCTAssertTrue(String(decoding: out, as: UTF8.self).hasPrefix(expected[i]), "input \(i): \(String(decoding: out, as: UTF8.self))")
        }
    }

    func testSieve() throws {
        try check("Guest/bench/sieve.c", [le32(10_000), le32(2), le32(100_000)]) { i, out in
            XCTAssertEqual(String(decoding: out, as: UTF8.self), ["1229", "0", "9592"][i])
        }
    }

    func testSHA256() throws {
        try check("Guest/bench/sha256.c", [Array("abc and a bit more".utf8), le32(1000), le32(0), le32(55), le32(64),
                                           Array(repeating: 0x61, count: 1000)])
        let program = try Linker.link(elf: try GuestBuild.elf("Guest/bench/sha256.c"))
        let r = try GuestBuild.runBoth(program, input: Array("hello world".utf8))
        XCTAssertEqual(r.status, .halt(output: Array("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9".utf8)))
    }

    func testFib() throws {
        try check("Guest/bench/fib.c", [[0], [1], [20]]) { i, out in
            XCTAssertEqual(String(decoding: out, as: UTF8.self), ["0", "1", "6765"][i])
        }
    }

    func testInterp() throws {
        try check("Guest/bench/interp.c", [le32(0), le32(1000), le32(3000)])
    }

    func testSort() throws {
        try check("Guest/bench/sort.c", [le32(0), le32(1), le32(17), le32(5000)]) { _, out in
            XCTAssertTrue(String(decoding: out, as: UTF8.self).hasPrefix("sorted "))
        }
    }

    func testLargeStackFrames() throws {
        try check("Guest/bench/frames.c", [le32(0), le32(10), le32(60)])
        let program = try Linker.link(elf: try GuestBuild.elf("Guest/bench/frames.c"))
        XCTAssertEqual(program.stackSize, 4 << 20, "ALCATRAZ_STACK_SIZE is honoured")
    }

    /// Arithmetic, shifts, W ops, mul/div/rem, Zbb and comparisons on edge values.
    func testOperations() throws {
        let values: [UInt64] = [0, 1, 2, 7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x8000_0000_0000_0000,
                                0x7FFF_FFFF_FFFF_FFFF, UInt64.max, UInt64.max - 6, 0x0123_4567_89AB_CDEF, 0xDEAD_BEEF_F00D_CAFE]
        var inputs: [[UInt8]] = []
        for (i, a) in values.enumerated() { inputs.append(le64(a) + le64(values[(i * 5 + 3) % values.count])) }
        inputs.append(le64(63) + le64(UInt64.max))
        inputs.append(le64(0x8000_0000_0000_0000) + le64(UInt64.max))
        inputs.append(le64(0xFFFF_FFFF_8000_0000) + le64(0xFFFF_FFFF_FFFF_FFFF))
        let ops = GuestBuild.root.appendingPathComponent("Tests/Fixtures/guest/ops.c").path
        try check(ops, inputs)
    }

    /// C11 atomics and __sync builtins (lr/sc/amo*), translated for the single-threaded PVM.
    func testAtomics() throws {
        let atomics = GuestBuild.root.appendingPathComponent("Tests/Fixtures/guest/atomics.c").path
        try check(atomics, [le64(0xFFFF_FFFF_8000_0005) + le64(0x1_2345_6789), le64(7) + le64(7),
                            le64(0) + le64(UInt64.max), le64(0x8000_0000_0000_0000) + le64(1)])
        // The RISC-V really contains A-extension instructions (opcode 0x2F).
        let elf = try GuestBuild.elf(atomics)
        var amo = 0
        for i in stride(from: 0, to: elf.count - 4, by: 2) where elf[i] & 0x7F == 0x2F && elf[i] & 3 == 3 && (elf[i + 1] >> 4) & 7 >= 2 { amo += 1 }
        XCTAssertGreaterThan(amo, 10)
    }

    /// alc_alloc/alc_sbrk (the PVM's sbrk through the SDK's custom-0 instruction).
    func testHeap() throws {
        let heap = GuestBuild.root.appendingPathComponent("Tests/Fixtures/guest/heap.c").path
        try check(heap, [[], le32(0), le32(20_000)]) { i, out in
            XCTAssertTrue(String(decoding: out, as: UTF8.self).hasSuffix(" ok"), "input \(i): \(String(decoding: out, as: UTF8.self))")
        }
    }

    /// Every example and benchmark at -O0, -O1, -Os and -O3 gives the output of the native -O2 build.
    func testOtherOptimisationLevels() throws {
        let cases: [(String, [UInt8])] = [
            ("Guest/examples/hello.c", Array("Bob".utf8)), ("Guest/examples/validate.c", state(nonce: 1) + block(nonce: 2, [(0, 1, 2, 3), (5, 4, 3, 10_000)])),
            ("Guest/bench/sieve.c", le32(3000)), ("Guest/bench/sha256.c", le32(300)), ("Guest/bench/fib.c", [15]),
            ("Guest/bench/interp.c", le32(200)), ("Guest/bench/sort.c", le32(300)), ("Guest/bench/frames.c", le32(5)),
        ]
        for flags in ["-O0", "-O1", "-Os", "-O3"] {
            for (source, input) in cases {
                let program = try Linker.link(elf: try GuestBuild.elf(source, extraFlags: flags))
                let r = try GuestBuild.runBoth(program, input: input)
                XCTAssertEqual(r.status, .halt(output: try GuestBuild.runNative(try GuestBuild.native(source), input: input)), "\(source) \(flags)")
            }
        }
    }

    /// The gas host call returns the gas left after its own cost.
    func testGasHostCall() throws {
        let src = GuestBuild.scratch.appendingPathComponent("gas.c")
        try """
        #include "alcatraz.h"
        static uint64_t o[2];
        ALCATRAZ_ENTRY(run)
        static alc_output run(const unsigned char *in, unsigned long len) {
            (void)in; (void)len;
            o[0] = alc_gas();
            o[1] = alc_gas();
            return alc_out(o, sizeof o);
        }
        """.write(to: src, atomically: true, encoding: .utf8)
        let program = try Linker.link(elf: try GuestBuild.elf(src.path))
        let r = try GuestBuild.runBoth(program, input: [], gas: 100_000)
        guard case .halt(let out) = r.status, out.count == 16 else { return XCTFail("\(r.status)") }
        let first = out[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let second = out[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        XCTAssertLessThan(first, 100_000 - 10)
        XCTAssertGreaterThan(first, 100_000 - 100)
        // Both calls are in one basic block, whose instructions were all charged on entry: the
        // second call differs only by its own 10.
        XCTAssertEqual(second, first - 10)
    }

    /// The same operations at -O0 and -Os (different instruction selection, more x0 uses).
    func testOperationsOtherOptimisationLevels() throws {
        let ops = GuestBuild.root.appendingPathComponent("Tests/Fixtures/guest/ops.c").path
        for flags in ["-O0", "-Os"] {
            let program = try Linker.link(elf: try GuestBuild.elf(ops, extraFlags: flags))
            let native = try GuestBuild.native(ops)
            for input in [le64(5) + le64(3), le64(UInt64.max) + le64(0x8000_0000)] {
                let r = try GuestBuild.runBoth(program, input: input)
                XCTAssertEqual(r.status, .halt(output: try GuestBuild.runNative(native, input: input)), flags)
            }
        }
    }
}
