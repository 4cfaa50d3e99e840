/// Size limits applied while decoding a program, before anything is allocated. The daemon takes
/// them from its config file; the defaults suit the command-line tool.
public struct ProgramLimits: Sendable, Equatable {
    /// The largest code section, in bytes (GP: service code is at most 4,000,000 bytes in all).
    public var maxCodeSize: Int
    /// The most jump-table entries.
    public var maxJumpTableEntries: Int
    /// The largest stack a standard program may declare, in bytes.
    public var maxStackSize: Int
    /// The most guest memory a standard program may map at start (read-only data, read-write
    /// data, extra heap pages and stack, each rounded up to pages), in bytes.
    public var maxGuestMemory: Int

    public init(maxCodeSize: Int = 1 << 26, maxJumpTableEntries: Int = 1 << 24,
                maxStackSize: Int = 1 << 24, maxGuestMemory: Int = 1 << 30) {
        self.maxCodeSize = maxCodeSize
        self.maxJumpTableEntries = maxJumpTableEntries
        self.maxStackSize = maxStackSize
        self.maxGuestMemory = maxGuestMemory
    }
}
