// A worker prepares its machine's address space before the job arrives
// (`GuestMemory.prepareSpare`); the machine then takes it. Taken or not, the memory must behave
// exactly like a fresh reservation. (Every sandboxed vector run, `alcatraz vectors --sandbox`,
// also goes through a spare, faults included.)
import PVM
import XCTest

final class GuestMemorySpareTests: XCTestCase {
    /// GuestMemory.preferredAddress.
    let preferred: UInt = 0x10_0000_0000

    func testAPreparedSpareIsTakenAndBehavesLikeAFreshReservation() throws {
        XCTAssertEqual(GuestMemory.prepareSpare(contextCapacity: 16384), 0)
        let memory = try GuestMemory(hardwareProtected: true, contextSize: 8192)
        XCTAssertEqual(UInt(bitPattern: memory.base), preferred, "the spare's address")
        XCTAssertEqual(memory.contextSize, 16384, "the spare's whole context is the machine's")
        // The context is readable, writable and zero, all of it.
        let context = memory.base - memory.contextSize
        for offset in stride(from: 0, to: memory.contextSize, by: 512) {
            XCTAssertEqual(context.load(fromByteOffset: offset, as: UInt64.self), 0)
            context.storeBytes(of: 0xA5A5, toByteOffset: offset, as: UInt64.self)
        }
        // The page table starts empty, although its first and last pages were faulted in.
        XCTAssertEqual(memory.accessiblePages(), [])
        XCTAssertEqual(memory.access(at: 0), .none)
        XCTAssertEqual(memory.access(at: 0xFFFF_F000), .none)
        memory.map(address: 0x10000, length: 4096, access: .write)
        memory.map(address: 0xFFFF_F000, length: 4096, access: .read)
        XCTAssertEqual(memory.accessiblePages(), [0x10000, 0xFFFF_F000])
        XCTAssertTrue(memory.write(0x10000, [1, 2, 3]))
        XCTAssertEqual(memory.read(0x10000, count: 3), [1, 2, 3])
        XCTAssertFalse(memory.write(0xFFFF_F000, [1]), "read-only")
        XCTAssertEqual(memory.read(0xFFFF_F000, count: 4), [0, 0, 0, 0])
        XCTAssertNil(memory.read(0x20000, count: 1), "not mapped")

        // Taken once: the next machine reserves its own space (the preferred address is in use).
        let second = try GuestMemory(hardwareProtected: true, contextSize: 8192)
        XCTAssertNotEqual(UInt(bitPattern: second.base), preferred)
        XCTAssertEqual(second.contextSize, 8192)
    }

    func testASpareTooSmallIsReleasedAndTheMachineReservesItsOwn() throws {
        XCTAssertEqual(GuestMemory.prepareSpare(contextCapacity: 4096), 0)
        let memory = try GuestMemory(hardwareProtected: true, contextSize: 65536)
        // Released first, so the preferred address is free for the machine's own reservation.
        XCTAssertEqual(UInt(bitPattern: memory.base), preferred)
        XCTAssertEqual(memory.contextSize, 65536)
        XCTAssertEqual(memory.accessiblePages(), [])
    }

    func testAMachineWithoutHardwareProtectionLeavesTheSpare() throws {
        XCTAssertEqual(GuestMemory.prepareSpare(contextCapacity: 8192), 0)
        let plain = try GuestMemory(hardwareProtected: false)
        XCTAssertNotEqual(UInt(bitPattern: plain.base), preferred)
        let protected = try GuestMemory(hardwareProtected: true, contextSize: 4096)
        XCTAssertEqual(UInt(bitPattern: protected.base), preferred, "the spare was still there")
    }
}
