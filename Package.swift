// swift-tools-version:6.0
// Alcatraz: a sandboxed, deterministic PVM executor for blockchain nodes.
//
// One target per role, so that the architecture shows in the tree (see docs/architecture.md):
//   PVM              program formats, code analysis and the reference interpreter (no Foundation)
//   PVMAssembler     text assembler and disassembler for PVM programs (no Foundation)
//   Linker           `alcatraz link`: static RV64EMAC ELF -> PVM standard program (no Foundation)
//   ConformanceVectors  loader and runner for the JAM PVM JSON test vectors
//   CShims           the few C helpers Swift cannot express (signal context, raw syscalls)
//   JIT              x86-64 assembler DSL and the one-pass PVM -> x86-64 recompiler
//   CSeccomp, CCap   system libraries (libseccomp, libcap)
//   Sandbox          the worker lockdown (namespaces, pivot_root, rlimits, capabilities, seccomp)
//   WireProtocol     SCALE codec, frames and messages shared by daemon, worker and client
//   Supervisor       alcatrazd's library: NIO server, priority queue, worker pool, code cache,
//                    config, metrics, logging
//   alcatrazd        the supervisor daemon
//   AlcatrazClient   async/await client library (plain sockets), used by the CLI
//   ProgramGenerator seeded random valid-program generator and the engine-agnostic differential driver
//   SandboxedExecution  the supervisor side of one job in a locked-down worker (CLI, tests)
//   alcatraz         the command-line tool
//   alcatraz-bench   the benchmark harness (Benchmarks/)
//   alcatraz-fuzz    differential fuzzing of the recompiler against the interpreter (docs/testing.md)
import PackageDescription

let optimize: [SwiftSetting] = [
    // The interpreter and JIT hot paths use unsafe pointers with explicit checks; exclusivity
    // checking costs a call per register access in the inner loop and proves nothing there.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Alcatraz",
    products: [
        .library(name: "PVM", targets: ["PVM"]),
        .library(name: "PVMAssembler", targets: ["PVMAssembler"]),
        .library(name: "Linker", targets: ["Linker"]),
        .executable(name: "alcatraz", targets: ["alcatraz"]),
        .executable(name: "alcatrazd", targets: ["alcatrazd"]),
        .library(name: "AlcatrazClient", targets: ["AlcatrazClient"]),
        .executable(name: "alcatraz-bench", targets: ["alcatraz-bench"]),
        .executable(name: "alcatraz-fuzz", targets: ["alcatraz-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .target(name: "PVM", swiftSettings: optimize),
        .target(name: "PVMAssembler", dependencies: ["PVM"]),
        .target(name: "Linker", dependencies: ["PVM"], swiftSettings: optimize),
        .target(name: "ConformanceVectors", dependencies: ["PVM", "JIT"]),
        .target(name: "CShims"),
        .target(name: "JIT", dependencies: ["PVM", "CShims"], swiftSettings: optimize),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        // The lockdown's system calls in C, so that a freshly forked worker runs them without
        // copy-on-write faults from Swift's runtime (CLockdown/include/lockdown.h).
        .target(name: "CLockdown", dependencies: ["CCap"]),
        .target(name: "Sandbox", dependencies: ["CSeccomp", "CCap", "CShims", "CLockdown"]),
        .target(name: "WireProtocol"),
        // The production worker: `spawner` mode (forks locked-down workers that each run one job)
        // and `check-sandbox`. No Foundation.
        .executableTarget(
            name: "alcatraz-worker", dependencies: ["Sandbox", "CShims", "PVM", "JIT", "WireProtocol"],
            path: "Sources/AlcatrazWorker", swiftSettings: optimize,
            // A static executable (the Swift runtime, glibc, libstdc++, libseccomp and libcap
            // linked in) with 2 MiB segment alignment: every fork of the spawner copies 11
            // mappings instead of 51, a worker never faults on shared-library code, and the
            // spawner can move all of its code into huge pages (sb_move_text_to_huge_pages).
            // Not position-independent: SwiftPM always adds an rpath, which glibc's static-pie
            // start-up refuses (docs/security-model.md, "Fixed addresses").
            linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "-z", "-Xlinker", "max-page-size=0x200000"])]
        ),
        .target(name: "SandboxedExecution", dependencies: ["Sandbox", "WireProtocol", "PVM", "ConformanceVectors"]),
        // Benchmark: locked-down workers per second and fork-to-ready latency against bare clone().
        .executableTarget(name: "alcatraz-spawn-bench", dependencies: ["Sandbox", "CShims"], path: "Benchmarks/Sources/SpawnBench"),
        // TEST ONLY: a worker that runs raw machine code from its job socket, for the attack tests.
        .executableTarget(
            name: "alcatraz-sandbox-harness", dependencies: ["Sandbox", "CShims"], path: "Sources/SandboxTestHarness"
        ),
        .target(
            name: "Supervisor",
            dependencies: [
                "WireProtocol", "Sandbox",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(
            name: "alcatrazd",
            dependencies: ["Supervisor", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Alcatrazd"
        ),
        .target(name: "AlcatrazClient", dependencies: ["WireProtocol"]),
        // TEST ONLY: a worker whose job input is a script (reply, hang, crash), for the daemon's
        // end-to-end tests of timeouts, kills and draining with real sandboxed processes.
        .executableTarget(
            name: "alcatraz-scripted-worker", dependencies: ["Sandbox", "WireProtocol"],
            path: "Sources/ScriptedWorker"
        ),
        .target(name: "ProgramGenerator", dependencies: ["PVM", "PVMAssembler"]),
        .executableTarget(
            name: "alcatraz-fuzz",
            dependencies: ["ProgramGenerator", "PVM", "JIT"],
            path: "Sources/AlcatrazFuzz",
            swiftSettings: optimize
        ),
        .executableTarget(
            name: "alcatraz",
            dependencies: [
                "PVM", "PVMAssembler", "ConformanceVectors", "JIT", "SandboxedExecution", "Sandbox", "WireProtocol",
                "AlcatrazClient", "Linker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/AlcatrazCLI"
        ),
        // Benchmarks (Benchmarks/README.md): interpreter vs JIT speed, JIT compile speed.
        .executableTarget(
            name: "alcatraz-bench",
            dependencies: ["PVM", "PVMAssembler", "JIT"],
            path: "Benchmarks/Sources/AlcatrazBench",
            swiftSettings: optimize
        ),
        // Helpers shared by the test targets (running helper programs, the test process's
        // capabilities).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "PVMTests", dependencies: ["PVM", "PVMAssembler", "ConformanceVectors", "JIT"]),
        .testTarget(name: "PVMAssemblerTests", dependencies: ["PVM", "PVMAssembler"]),
        .testTarget(name: "LinkerTests", dependencies: ["Linker", "PVM", "JIT", "TestSupport"]),
        .testTarget(name: "JITTests", dependencies: ["JIT", "PVM", "PVMAssembler", "ProgramGenerator"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "CShims", "CLockdown", "TestSupport"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol"]),
        .testTarget(
            name: "WorkerTests",
            dependencies: ["SandboxedExecution", "Sandbox", "WireProtocol", "PVM", "PVMAssembler", "ConformanceVectors", "JIT",
                           "TestSupport"]
        ),
        .testTarget(
            name: "SupervisorTests",
            dependencies: ["Supervisor", "WireProtocol", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "DaemonTests", dependencies: ["AlcatrazClient", "WireProtocol", "PVMAssembler", "PVM", "TestSupport"]),
    ]
)
