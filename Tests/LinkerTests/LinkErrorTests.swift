import Foundation
import Linker
import PVM
import XCTest

/// Unsupported and malformed input: a precise LinkError, never a crash.
final class LinkErrorTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
    }

    func linkError(_ elf: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> LinkError? {
        do {
            _ = try Linker.link(elf: elf)
            XCTFail("the link succeeded", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Builds a guest whose body is `body` (C statements inside the entry).
    func guest(_ name: String, _ body: String, flags: String? = nil) throws -> [UInt8] {
        let src = GuestBuild.scratch.appendingPathComponent("\(name).c")
        try """
        #include "alcatraz.h"
        ALCATRAZ_ENTRY(run)
        __attribute__((noinline)) unsigned long helper(unsigned long x) { \(body) return x; }
        static alc_output run(const unsigned char *in, unsigned long len) {
            static unsigned long o;
            o = helper(len);
            (void)in;
            return alc_out(&o, 8);
        }
        """.write(to: src, atomically: true, encoding: .utf8)
        return try GuestBuild.elf(src.path, extraFlags: flags)
    }

    func assertInstructionError(_ body: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let elf = try guest("bad\(abs(body.hashValue))", body)
        guard let e = linkError(elf, file: file, line: line) else { return }
        XCTAssertEqual(e.kind, .unsupportedInstruction, e.message, file: file, line: line)
        for s in expected + [".text+0x", "in function helper+0x"] {
            XCTAssertTrue(e.message.contains(s), "'\(e.message)' does not mention '\(s)'", file: file, line: line)
        }
    }

    func testFloatingPoint() throws {
        try assertInstructionError(#"__asm__ volatile(".4byte 0x022081d3");"#, ["floating-point instruction 0x022081d3", "floating point is not supported"])
        try assertInstructionError(#"__asm__ volatile(".2byte 0x2000");"#, ["compressed floating-point", "floating point"])  // c.fld
    }

    func testUnknownAtomicEncoding() throws {
        // funct5 = 00101 is not an RV64A operation; funct3 = 0 is not a width.
        try assertInstructionError(#"__asm__ volatile(".4byte 0x2800202f");"#, ["atomic instruction 0x2800202f", "RV64A"])
        try assertInstructionError(#"__asm__ volatile(".4byte 0x00b5002f");"#, ["atomic instruction 0x00b5002f", "RV64A"])
    }

    func testEcallEbreakAndCSRs() throws {
        try assertInstructionError(#"__asm__ volatile("ecall");"#, ["ecall", "host calls"])
        try assertInstructionError(#"__asm__ volatile("ebreak");"#, ["ebreak"])
        try assertInstructionError(#"__asm__ volatile("c.ebreak");"#, ["c.ebreak"])
        try assertInstructionError(#"__asm__ volatile("csrr %0, cycle" : "=r"(x));"#, ["csr", "control and status registers"])
        try assertInstructionError(#"__asm__ volatile(".insn i 0x0B, 2, x0, x0, 5");"#, ["custom-0"])
        try assertInstructionError(#"__asm__ volatile(".insn i 0x0B, 1, x0, a0, 0");"#, ["sbrk needs"])
    }

    func testRegistersTheE_ABILacks() throws {
        try assertInstructionError(#"__asm__ volatile("mv %0, gp" : "=r"(x));"#, ["gp (x3)"])
        try assertInstructionError(#"__asm__ volatile("mv %0, tp" : "=r"(x));"#, ["tp (x4)", "thread-local"])
        try assertInstructionError(#"__asm__ volatile(".4byte 0x00150813");"#, ["a6 (x16)", "RV64E"])  // addi a6, a0, 1
    }

    func testUnknownEncoding() throws {
        try assertInstructionError(#"__asm__ volatile(".4byte 0x0000007f");"#, ["0x007f", "longer than 32 bits"])
    }

    func testHostCallIsTranslated() throws {
        let elf = try guest("hostcall", "x += ALC_HOSTCALL(77, x, 0, 0, 0, 0);")
        let p = try Linker.link(elf: elf)
        let r = try GuestBuild.runBoth(p, input: [1, 2, 3])
        // Host call 77 is unknown: a0 ← WHAT = 2^64 − 2, so x = 3 + WHAT = 1 (mod 2^64).
        XCTAssertEqual(r.status, .halt(output: le64(1)))
    }

    func testWrongFiles() throws {
        XCTAssertEqual(linkError([])?.kind, .malformed)
        XCTAssertTrue(linkError(Array("#!/bin/sh\n".utf8))?.message.contains("not an ELF") ?? false)
        let good = try GuestBuild.elf("Guest/examples/hello.c")
        XCTAssertTrue(linkError(Array(good.prefix(40)))?.message.contains("truncated ELF header") ?? false)
        var elf32 = good; elf32[4] = 1
        XCTAssertTrue(linkError(elf32)?.message.contains("not a 64-bit ELF") ?? false)
        var big = good; big[5] = 2
        XCTAssertTrue(linkError(big)?.message.contains("little-endian") ?? false)
        var x86 = good; x86[18] = 62; x86[19] = 0
        XCTAssertTrue(linkError(x86)?.message.contains("not a RISC-V ELF (e_machine = 62") ?? false)
        var rel = good; rel[16] = 1
        XCTAssertTrue(linkError(rel)?.message.contains("relocatable object") ?? false)
        var dyn = good; dyn[16] = 3
        XCTAssertTrue(linkError(dyn)?.message.contains("shared object or PIE") ?? false)
        var hard = good; hard[48] |= 0x4
        XCTAssertTrue(linkError(hard)?.message.contains("floating-point ABI") ?? false)
        // A native executable of this machine.
        let native = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try GuestBuild.native("Guest/examples/hello.c"))))
        XCTAssertEqual(linkError(native)?.kind, .unsupportedFile)
    }

    func testMissingRelocations() throws {
        let good = try GuestBuild.elf("Guest/examples/hello.c")
        let path = GuestBuild.scratch.appendingPathComponent("norel.elf").path
        try Data(good).write(to: URL(fileURLWithPath: path))
        let r = try GuestBuild.sh(["llvm-objcopy", "--remove-section=.rela.text", path, path])
        XCTAssertEqual(r.status, 0, r.output)
        let e = linkError([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(e?.kind, .relocation)
        XCTAssertTrue(e?.message.contains("--emit-relocs") ?? false, e?.message ?? "")
    }

    /// Truncations at every length and thousands of byte mutations of a real guest: each links or
    /// fails with a LinkError; whatever links also runs (deterministically) without crashing.
    func testMutatedELFCorpus() throws {
        let good = try GuestBuild.elf("Guest/examples/validate.c")
        var outcomes = (linked: 0, rejected: 0)
        func attempt(_ bytes: [UInt8]) {
            do {
                let p = try Linker.link(elf: bytes)
                outcomes.linked += 1
                if let i = try? Interpreter(standard: p, input: [1, 2, 3], gas: 10_000) {
                    _ = GuestABI.invoke(i, initialGas: 10_000)
                }
            } catch {
                outcomes.rejected += 1
                XCTAssertFalse(error.message.isEmpty)
            }
        }
        for n in stride(from: 0, to: good.count, by: max(1, good.count / 400)) { attempt(Array(good.prefix(n))) }
        var rng = SplitMix(seed: 0x5EED)
        // The interesting bytes: the ELF header, the section header table and everything else.
        let shoff = Int(good[40]) | Int(good[41]) << 8 | Int(good[42]) << 16
        for round in 0..<3000 {
            var m = good
            let flips = 1 + Int(rng.next() % 4)
            for _ in 0..<flips {
                let region = round % 3
                let at: Int
                switch region {
                case 0: at = Int(rng.next() % 64)
                case 1: at = min(m.count - 1, shoff + Int(rng.next() % UInt64(max(1, m.count - shoff))))
                default: at = Int(rng.next() % UInt64(m.count))
                }
                m[at] = rng.next() % 4 == 0 ? 0xFF : UInt8(truncatingIfNeeded: rng.next())
            }
            attempt(m)
        }
        XCTAssertGreaterThan(outcomes.rejected, 100)
        XCTAssertGreaterThan(outcomes.linked, 10)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
