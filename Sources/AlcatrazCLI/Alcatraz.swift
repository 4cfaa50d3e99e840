import ArgumentParser

/// `alcatraz`: run, assemble, inspect and test PVM programs; talk to `alcatrazd`.
@main
struct Alcatraz: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alcatraz",
        abstract: "Run, assemble, link and test PVM programs; talk to alcatrazd.",
        subcommands: [RunCommand.self, VectorsCommand.self, AsmCommand.self, DisasmCommand.self, CheckSandboxCommand.self,
                      ValidateCommand.self, RegisterCommand.self, StatusCommand.self, LoadCommand.self, LinkCommand.self]
    )
}

/// The execution engine a command uses.
enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case interpreter
    case jit
    /// Both engines, failing on any difference between them.
    case both
}
