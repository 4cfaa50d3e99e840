import CLockdown
@testable import Sandbox
import XCTest

/// The C steps (CLockdown) and the Swift step list must agree on numbering and on the plan.
final class LockdownPlanTests: XCTestCase {
    func testStepNumbersMatchTheCEnum() {
        let c: [LockdownStep: Int32] = [
            .outsideIdentity: Int32(SB_STEP_OUTSIDE_IDENTITY), .pidNamespace: Int32(SB_STEP_PID_NAMESPACE),
            .userNamespace: Int32(SB_STEP_USER_NAMESPACE), .idMaps: Int32(SB_STEP_ID_MAPS),
            .mountNamespace: Int32(SB_STEP_MOUNT_NAMESPACE), .ipcNamespace: Int32(SB_STEP_IPC_NAMESPACE),
            .utsNamespace: Int32(SB_STEP_UTS_NAMESPACE), .cgroupNamespace: Int32(SB_STEP_CGROUP_NAMESPACE),
            .fileDescriptors: Int32(SB_STEP_FILE_DESCRIPTORS), .rootFilesystem: Int32(SB_STEP_ROOT_FILESYSTEM),
            .environment: Int32(SB_STEP_ENVIRONMENT), .resourceLimits: Int32(SB_STEP_RESOURCE_LIMITS),
            .capabilities: Int32(SB_STEP_CAPABILITIES), .noNewPrivileges: Int32(SB_STEP_NO_NEW_PRIVILEGES),
            .prepareJob: Int32(SB_STEP_PREPARE_JOB), .seccomp: Int32(SB_STEP_SECCOMP),
        ]
        XCTAssertEqual(c.count, LockdownStep.allCases.count)
        XCTAssertEqual(Int32(SB_STEP_COUNT), Int32(LockdownStep.allCases.count))
        for step in LockdownStep.allCases { XCTAssertEqual(c[step], step.rawValue, "\(step)") }
    }

    func testPlanCarriesTheConfiguration() throws {
        var config = LockdownConfig()
        config.jobFD = 7
        config.hostname = "h0st"
        config.outsideUID = 1234
        config.outsideGID = 4321
        config.limits.cpuSeconds = 3
        let plan = try LockdownPlan(config)
        let raw = plan.raw.pointee
        XCTAssertEqual(raw.job_fd, 7)
        XCTAssertEqual(String(cString: raw.hostname), "h0st")
        XCTAssertEqual(String(cString: raw.new_root_mountpoint), config.newRootMountpoint)
        XCTAssertEqual(raw.drop_identity, 1)
        XCTAssertEqual(raw.outside_uid, 1234)
        XCTAssertEqual(raw.outside_gid, 4321)
        XCTAssertEqual(raw.require_pid1, 1)
        XCTAssertEqual(raw.securebits, Capabilities.lockedSecurebits)
        let table = Rlimits.table(config.limits, jobFD: 7)
        XCTAssertEqual(Int(raw.rlimit_count), table.count)
        withUnsafeBytes(of: raw.rlimits) { buffer in
            let entries = buffer.bindMemory(to: sb_rlimit_entry.self)
            for (i, row) in table.enumerated() {
                XCTAssertEqual(entries[i].resource, row.resource, row.name)
                XCTAssertEqual(entries[i].value, row.value, row.name)
            }
        }
        // The program is the allowlist compiled for job fd 7, byte for byte.
        let expected = try Seccomp.compile(jobFD: 7)
        XCTAssertEqual(raw.seccomp_program_length, expected.count)
        let program = Array(UnsafeRawBufferPointer(start: raw.seccomp_program, count: raw.seccomp_program_length))
        XCTAssertEqual(program, expected)
        XCTAssertNotEqual(program, try Seccomp.compile(jobFD: 3), "the job fd is part of the filter")
    }
}
