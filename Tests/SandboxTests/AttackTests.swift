// The attack suite: an attacker with arbitrary code execution inside a fully locked-down
// worker (raw x86-64 from the test) tries to reach files, the network, other processes, new
// privileges and new code. Every attempt must end in a classified seccomp kill, or in a
// failed call whose error comes back; none may succeed.
import Sandbox
import XCTest

final class AttackTests: XCTestCase {
    let killed = WorkerOutcome.seccompViolation(syscall: nil)

    func assertKilled(_ code: [UInt8], flags: UInt32 = 0, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try Harness.run(code, flags: flags, file: file, line: line)
        XCTAssertEqual(run.outcome, killed, "\(message): result \(String(describing: run.result))", file: file, line: line)
        XCTAssertNil(run.result, "\(message) returned", file: file, line: line)
    }

    func testOpenEtcPasswd() throws {
        try assertKilled(X86.call(NR.open, .string("/etc/passwd"), .imm(0)), "open")
        try assertKilled(X86.call(NR.openat, .imm(K.atFDCWD), .string("/etc/passwd"), .imm(0)), "openat")
    }

    func testReadProc() throws {
        try assertKilled(X86.call(NR.openat, .imm(K.atFDCWD), .string("/proc/self/status"), .imm(0)), "openat /proc")
        try assertKilled(X86.call(NR.getdents64, .imm(K.jobFD), .stack(-128), .imm(64)), "getdents64")
    }

    func testSocketAndConnect() throws {
        try assertKilled(X86.call(NR.socket, .imm(2), .imm(1), .imm(0)), "socket(AF_INET)")
        try assertKilled(X86.call(NR.socket, .imm(1), .imm(1), .imm(0)), "socket(AF_UNIX)")
        // 127.0.0.1:22 as a sockaddr_in, connected from the job socket itself.
        let sin: [UInt8] = [2, 0, 0, 22, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        try assertKilled(X86.call(NR.connect, .imm(K.jobFD), .data(sin), .imm(16)), "connect")
        try assertKilled(X86.call(NR.sendmsg, .imm(K.jobFD), .stack(-128), .imm(0)), "sendmsg (fd passing)")
        try assertKilled(X86.call(NR.recvmsg, .imm(K.jobFD), .stack(-128), .imm(0)), "recvmsg (fd passing)")
    }

    func testExecve() throws {
        try assertKilled(X86.call(NR.execve, .string("/bin/sh"), .imm(0), .imm(0)), "execve")
    }

    func testForkAndClone() throws {
        try assertKilled(X86.call(NR.fork), "fork")
        try assertKilled(X86.call(NR.vfork), "vfork")
        try assertKilled(X86.call(NR.clone, .imm(17 /* SIGCHLD */), .imm(0), .imm(0), .imm(0), .imm(0)), "clone")
        try assertKilled(X86.call(NR.clone3, .stack(-128), .imm(88)), "clone3")
    }

    func testPtrace() throws {
        try assertKilled(X86.call(NR.ptrace, .imm(16 /* PTRACE_ATTACH */), .imm(1)), "ptrace attach")
        try assertKilled(X86.call(NR.ptrace, .imm(0 /* PTRACE_TRACEME */)), "ptrace traceme")
        try assertKilled(X86.call(NR.processVMWritev, .imm(1), .imm(0), .imm(0), .imm(0), .imm(0), .imm(0)), "process_vm_writev")
    }

    func testKillParentAndEveryone() throws {
        try assertKilled(X86.call(NR.kill, .imm(UInt64(bitPattern: -1)), .imm(9)), "kill(-1)")
        try assertKilled(X86.call(NR.kill, .imm(UInt64(getpid())), .imm(9)), "kill(test runner pid)")
        try assertKilled(X86.call(NR.pidfdOpen, .imm(1), .imm(0)), "pidfd_open")
    }

    func testMountUnshareSetnsChroot() throws {
        try assertKilled(X86.call(NR.mount, .string("none"), .string("/"), .string("tmpfs"), .imm(0), .imm(0)), "mount")
        try assertKilled(X86.call(NR.unshare, .imm(0x1000_0000 /* CLONE_NEWUSER */)), "unshare")
        try assertKilled(X86.call(NR.setns, .imm(K.jobFD), .imm(0)), "setns")
        try assertKilled(X86.call(NR.chroot, .string("/")), "chroot")
    }

    func testPrivilegeChanges() throws {
        try assertKilled(X86.call(NR.setuid, .imm(0)), "setuid")
        try assertKilled(X86.call(NR.prctl, .imm(38 /* PR_SET_NO_NEW_PRIVS */), .imm(0)), "prctl")
        try assertKilled(X86.call(NR.setrlimit, .imm(9 /* AS */), .stack(-64)), "setrlimit")
        try assertKilled(X86.call(NR.prlimit64, .imm(0), .imm(0 /* CPU */), .stack(-64), .imm(0)), "prlimit64")
    }

    func testMprotectToExecutable() throws {
        // The code page itself (rip-relative) made writable and executable.
        try assertKilled(X86.snippet { a in
            a.raw([0x48, 0x8D, 0x3D, 0x00, 0x00, 0x00, 0x00])  // lea rdi, [rip]
            a.raw([0x48, 0x81, 0xE7, 0x00, 0xF0, 0xFF, 0xFF])  // and rdi, ~0xfff
            a.syscall(NR.mprotect, .keep, .imm(4096), .imm(K.protR | K.protW | K.protX))
            a.ret()
        }, "mprotect code page RWX")
        try assertKilled(X86.call(NR.pkeyMprotect, .imm(0x10000), .imm(4096), .imm(K.protR | K.protX), .imm(0)), "pkey_mprotect")
        try assertKilled(X86.call(NR.mremap, .imm(0x10000), .imm(4096), .imm(8192), .imm(1)), "mremap")
        try assertKilled(X86.call(NR.memfdCreate, .string("x"), .imm(0)), "memfd_create")
    }

    func testWritesToDescriptorsItDoesNotOwn() throws {
        for fd: UInt64 in [0, 1, 2, 4, 255] {
            try assertKilled(X86.call(NR.write, .imm(fd), .data([0x41]), .imm(1)), "write(\(fd))")
        }
        try assertKilled(X86.call(NR.dup, .imm(K.jobFD)), "dup")
        try assertKilled(X86.call(NR.ioctl, .imm(K.jobFD), .imm(0x5421 /* FIONBIO */), .stack(-64)), "ioctl")
    }

    func testKernelAttackSurface() throws {
        try assertKilled(X86.call(NR.bpf, .imm(0), .stack(-128), .imm(64)), "bpf")
        try assertKilled(X86.call(NR.userfaultfd, .imm(0)), "userfaultfd")
        try assertKilled(X86.call(NR.ioUringSetup, .imm(1), .stack(-128)), "io_uring_setup")
        try assertKilled(X86.call(NR.perfEventOpen, .stack(-128), .imm(0), .imm(UInt64.max), .imm(UInt64.max), .imm(0)), "perf_event_open")
        try assertKilled(X86.call(NR.keyctl, .imm(0), .imm(0)), "keyctl")
    }

    func testForeignSyscallABIs() throws {
        // x32: write(jobFD) with bit 30 set would be an allowed write under the x86-64 number.
        try assertKilled(X86.call(0x4000_0000 | NR.write, .imm(K.jobFD), .data([0x41]), .imm(1)), "x32 write")
        // i386 through int 0x80: eax 4 = write, ebx = fd, ecx = buf, edx = len.
        try assertKilled(X86.snippet { a in
            a.mov(.rdx, 1)
            a.raw([0xBB, 0x03, 0x00, 0x00, 0x00])  // mov ebx, 3 (clobbers callee-saved rbx: we never return)
            a.raw([0xB8, 0x04, 0x00, 0x00, 0x00])  // mov eax, 4
            a.raw([0xCD, 0x80])  // int 0x80
            a.ret()
        }, "int 0x80 write")
    }
}
