/// A position in assembler source: 1-based line and column (columns count UTF-8 bytes).
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// An error found while assembling: where it is and what was expected there.
public struct AssemblyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based source line (0 when the error comes from a `ProgramBuilder` without source).
    public var line: Int
    /// The 1-based column of the offending token.
    public var column: Int
    /// What went wrong, naming what was expected.
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    init(_ location: SourceLocation?, _ message: String) {
        self.line = location?.line ?? 0
        self.column = location?.column ?? 0
        self.message = message
    }

    public var description: String { "\(line):\(column): error: \(message)" }
}
