/// A PVM machine ready to run: the interface the guest ABI (host calls, input and output) and the
/// test harnesses use, whatever the engine (interpreter or recompiler).
public protocol PVMInstance: AnyObject {
    /// The 13 registers.
    var registers: [UInt64] { get set }
    /// Gas remaining. Negative never happens: a block that does not fit is not run.
    var gas: Int64 { get set }
    /// The pc of the instruction that caused the last exit.
    var pc: UInt32 { get }
    /// Runs until an exit. After `.hostCall`, calling `run()` again resumes after the `ecalli`;
    /// after `.halt`, `.panic` or `.outOfGas` it returns the same reason again.
    func run() -> ExitReason
    /// Reads guest memory if every byte is readable.
    func readMemory(_ address: UInt32, count: Int) -> [UInt8]?
    /// Writes guest memory if every byte is writable; writes nothing otherwise.
    func writeMemory(_ address: UInt32, _ bytes: [UInt8]) -> Bool
}

/// What happens when a run starts at a pc that is not an instruction start: the byte there
/// executes as `trap`, which costs 1 gas (or is out of gas when none is left). Shared by the
/// engines so that they cannot differ.
public func trapAtInvalidStart(gas: inout Int64) -> ExitReason {
    if gas < 1 { return .outOfGas }
    gas -= 1
    return .panic
}
