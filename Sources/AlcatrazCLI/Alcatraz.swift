import ArgumentParser

/// `alcatraz`: run, assemble, inspect and test PVM programs; talk to `alcatrazd`.
@main
struct Alcatraz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alcatraz",
        abstract: "Run, assemble and test PVM programs.",
        subcommands: [RunCommand.self, VectorsCommand.self, AsmCommand.self, DisasmCommand.self, CheckSandboxCommand.self,
                      LinkCommand.self]
    )
}

/// The execution engine a command uses.
enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case interpreter
    case jit
    /// Both engines, failing on any difference between them.
    case both
}
