import Foundation
import Linker
import PVM
import XCTest

/// A generated guest of about 1 MB of ELF: it links quickly and runs like its native build.
final class LinkSpeedTests: XCTestCase {
    func testLargeGeneratedGuest() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
        var src = "#include \"alcatraz.h\"\n"
        var rng = SplitMix(seed: 1)
        let n = 900
        for i in 0..<n {
            let a = 1 + rng.next() % 1000, b = 1 + rng.next() % 50, c = 5 + rng.next() % 7
            src += """
            __attribute__((noinline)) uint64_t f\(i)(uint64_t x, uint64_t y) {
              uint64_t s = x * \(a) + y;
              for (int k = 0; k < \(b); k++) {
                switch ((s + k) % \(c)) {
                  case 0: s = s * 31 + k; break;
                  case 1: s ^= s >> 7; break;
                  case 2: s += y / (k + 1); break;
                  case 3: s -= x % (k + 3); break;
                  case 4: s = (s << 3) | (s >> 61); break;
                  default: s += \(i);
                }
              }
              return s + (y > x ? f\(max(i - 1, 0))(y - 1, x) : x);
            }

            """
        }
        src += "static unsigned char o[8];\nALCATRAZ_ENTRY(run)\nstatic alc_output run(const unsigned char *in, unsigned long len) { uint64_t s = 0;\n"
        for i in stride(from: 0, to: n, by: 7) { src += " s += f\(i)(len, \(i));\n" }
        src += " for (int i = 0; i < 8; i++) o[i] = (unsigned char)(s >> (8*i)); (void)in; return alc_out(o, 8); }\n"
        let file = GuestBuild.scratch.appendingPathComponent("large.c")
        try src.write(to: file, atomically: true, encoding: .utf8)
        let elf = try GuestBuild.elf(file.path)
        XCTAssertGreaterThan(elf.count, 800_000)
        var times: [Double] = []
        var program: StandardProgram?
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            program = try Linker.link(elf: elf)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        let median = times.sorted()[2]
        print("linked a \(elf.count)-byte ELF in \(median) ms (median of 5)")
        #if DEBUG
        XCTAssertLessThan(median, 2000, "debug build")
        #else
        XCTAssertLessThan(median, 50)
        #endif
        let input: [UInt8] = Array("abcdef".utf8)
        let r = try GuestBuild.runBoth(program!, input: input)
        let native = try GuestBuild.runNative(try GuestBuild.native(file.path), input: input)
        XCTAssertEqual(r.status, .halt(output: native))
    }
}
