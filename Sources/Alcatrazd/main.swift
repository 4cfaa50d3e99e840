// alcatrazd: the supervisor daemon. See docs/operations.md.
//   alcatrazd --config PATH          serve
//   alcatrazd --check-config PATH    validate the file and exit (non-zero with the error)
import ArgumentParser
import Foundation
import Logging
import Supervisor

@main
struct Alcatrazd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alcatrazd",
        abstract: "The Alcatraz supervisor daemon: validates PVM programs in sandboxed workers.",
        version: SupervisorService.version
    )

    @Option(help: "Configuration file to serve with.")
    var config: String?

    @Option(name: .customLong("check-config"), help: "Validate this configuration file and exit.")
    var checkConfig: String?

    func run() async throws {
        if let path = checkConfig {
            do {
                let parsed = try Config.load(path: path)
                print("\(path): ok (socket \(parsed.socketPath), \(parsed.limits.workers) workers)")
                return
            } catch {
                FileHandle.standardError.write(Data("alcatrazd: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        guard let path = config else {
            throw ValidationError("give --config PATH (or --check-config PATH)")
        }
        let parsed: Config
        do {
            parsed = try Config.load(path: path)
        } catch {
            FileHandle.standardError.write(Data("alcatrazd: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let level = parsed.logLevel
        LoggingSystem.bootstrap { LineLogHandler(label: $0, level: level) }
        let logger = Logger(label: "alcatrazd")
        let code = await Daemon.run(config: parsed, logger: logger)
        if code != 0 { throw ExitCode(code) }
    }
}
