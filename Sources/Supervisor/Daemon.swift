// alcatrazd's life: start the worker pool (the startup check that the sandbox works), bind
// the Unix socket, tell systemd READY=1, serve until SIGTERM/SIGINT, then drain: stop
// accepting, answer every queued request `shuttingDown`, let running jobs finish (each is
// bounded by the job timeout), flush every answer, close, stop the workers.
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public enum Daemon {
    /// Runs the daemon until a termination signal; returns the exit code.
    /// - Parameter executor: injected by tests; nil starts the sandboxed worker pool.
    public static func run(config: Config, logger: Logger, executor injected: (any JobExecutor)? = nil) async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        let metrics = DaemonMetrics()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.ioThreads)
        let executor: any JobExecutor
        if let injected {
            executor = injected
        } else {
            let path = config.workerExecutable.isEmpty ? defaultWorkerExecutable() : config.workerExecutable
            do {
                executor = try SandboxExecutor(executablePath: path, limits: config.limits, metrics: metrics, logger: logger,
                                               eventLoops: group)
            } catch {
                logger.critical("cannot start the worker pool", metadata: ["event": "startup_failed", "error": "\(error)",
                                                                            "worker_executable": "\(path)"])
                try? await group.shutdownGracefully()
                return 1
            }
        }
        let scheduler = Scheduler(executor: executor, limits: config.limits, weights: config.scheduler,
                                  observer: SchedulerObserver(queueChanged: { metrics.recordQueue($0) }))
        let service = SupervisorService(limits: config.limits, scheduler: scheduler, metrics: metrics, logger: logger)
        let code = await serve(config: config, logger: logger, signals: signals, executor: executor, scheduler: scheduler,
                               service: service, metrics: metrics, group: group)
        try? await group.shutdownGracefully()
        return code
    }

    private static func serve(config: Config, logger: Logger, signals: SignalWaiter, executor: any JobExecutor,
                              scheduler: Scheduler, service: SupervisorService, metrics: DaemonMetrics,
                              group: MultiThreadedEventLoopGroup) async -> Int32 {
        let server: any Channel
        let activated: Int32?
        do {
            activated = try activatedListener()
            server = try await bind(config: config, group: group, service: service, activated: activated)
        } catch {
            logger.critical("cannot listen", metadata: ["event": "startup_failed", "error": "\(error)", "socket": "\(config.socketPath)"])
            executor.shutdown()
            return 1
        }
        var metricsChannel: (any Channel)?
        if !config.metricsAddress.isEmpty {
            do {
                metricsChannel = try await MetricsEndpoint.start(address: config.metricsAddress, group: group, metrics: metrics)
            } catch {
                logger.critical("cannot serve metrics", metadata: ["event": "startup_failed", "error": "\(error)",
                                                                    "metrics_address": "\(config.metricsAddress)"])
                try? await server.close()
                executor.shutdown()
                return 1
            }
        }
        var watchdog: RepeatedTask?
        if let interval = SystemdNotify.watchdogIntervalNanos {
            watchdog = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .nanoseconds(Int64(interval))) { _ in
                SystemdNotify.send("WATCHDOG=1")
            }
        }
        SystemdNotify.send("READY=1")
        logger.info("ready", metadata: ["event": "ready", "socket": "\(activated == nil ? config.socketPath : "activated fd \(activated!)")",
                                        "workers": "\(executor.capacity)", "metrics": "\(config.metricsAddress)",
                                        "pid": "\(getpid())"])

        let signal = await signals.next()
        SystemdNotify.send("STOPPING=1")
        let queued = scheduler.queued
        logger.info("draining", metadata: ["event": "stopping", "signal": "\(signal)", "running": "\(scheduler.running)",
                                           "queued": "\(queued.dispute + queued.approval + queued.backing)"])
        service.beginDraining()
        try? await server.close()
        if activated == nil { unlink(config.socketPath) }  // an activated socket belongs to systemd
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            scheduler.drain { done.resume() }
        }
        service.connections.closeAllAfterFlush()
        let giveUp = Monotonic.now() + 5_000_000_000
        while service.connections.count > 0 && Monotonic.now() < giveUp {
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        watchdog?.cancel()
        try? await metricsChannel?.close()
        executor.shutdown()
        let verdicts = service.tally.snapshot
        logger.info("stopped", metadata: ["event": "stopped", "valid": "\(verdicts.valid)", "invalid": "\(verdicts.invalid)",
                                          "error": "\(verdicts.error)"])
        return 0
    }

    /// The listening socket systemd passed (socket activation: `LISTEN_PID` is this process and
    /// `LISTEN_FDS` ≥ 1, the socket being fd 3), or nil when the daemon binds its own. The
    /// variables are removed so that nothing started later inherits them.
    static func activatedListener() throws -> Int32? {
        guard let pid = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(pid) == getpid(),
              let fds = getenv("LISTEN_FDS").map({ String(cString: $0) }), let count = Int(fds), count >= 1
        else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        let fd: Int32 = 3   // SD_LISTEN_FDS_START
        var listening: Int32 = 0
        var domain: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0, listening == 1 else {
            throw SupervisorError.bind("LISTEN_FDS is set but fd 3 is not a listening socket")
        }
        size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) == 0, domain == AF_UNIX else {
            throw SupervisorError.bind("the socket passed by systemd (fd 3) is not a Unix socket; use ListenStream=/path")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    static func bind(config: Config, group: EventLoopGroup, service: SupervisorService,
                     activated: Int32? = nil) async throws -> any Channel {
        if let fd = activated {
            return try await bootstrap(group: group, service: service).withBoundSocket(fd).get()
        }
        let path = config.socketPath
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        }
        try removeStaleSocket(path)
        let channel = try await bootstrap(group: group, service: service).bind(unixDomainSocketPath: path).get()
        guard chmod(path, mode_t(config.socketMode)) == 0 else {
            try? await channel.close()
            throw SupervisorError.bind("chmod \(String(config.socketMode, radix: 8)) \(path): \(String(cString: strerror(errno)))")
        }
        return channel
    }

    /// Removes a socket left at `path` by a daemon that crashed. Anything else there is left
    /// alone: a socket something listens on (another daemon), and any file that is not a socket
    /// (a `socket` key pointing at the wrong file must not delete that file).
    static func removeStaleSocket(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there (or nothing we may see: bind will say)
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw SupervisorError.bind("\(path) exists and is not a socket; not removing it. "
                                       + "Hint: check the `socket` key of the config, or move that file away")
        }
        if isListening(path) { throw SupervisorError.bind("another daemon is serving \(path)") }
        unlink(path)  // a stale socket left by a crash
    }

    static func bootstrap(group: EventLoopGroup, service: SupervisorService) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: ConnectionHandler.answerWaterMark)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ConnectionHandler(service: service, connectionID: service.connections.makeID())
                    // Reads wait while the client leaves its answers unread (ConnectionHandler).
                    try channel.pipeline.syncOperations.addHandlers(BackPressureHandler(), handler)
                }
            }
    }

    /// Whether something accepts connections on the socket at `path`.
    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    /// `alcatraz-worker` in the directory of this executable.
    public static func defaultWorkerExecutable() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("alcatraz-worker")
    }
}

/// Turns termination signals into an awaitable event (the default actions are disabled).
final class SignalWaiter: Sendable {
    private let sources: [UncheckedBox<DispatchSourceSignal>]
    private let state = Mutex<(fired: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))

    init(signals: [Int32]) {
        var sources: [UncheckedBox<DispatchSourceSignal>] = []
        for number in signals {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            sources.append(UncheckedBox(source))
        }
        self.sources = sources
        for (source, number) in zip(sources, signals) {
            source.value.setEventHandler { [self] in fire(number) }
            source.value.resume()
        }
    }

    private func fire(_ number: Int32) {
        let waiter = state.withLock { s -> CheckedContinuation<Int32, Never>? in
            if s.fired == nil { s.fired = number }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: number)
    }

    /// The first signal received (at once if one already was).
    func next() async -> Int32 {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { s -> Int32? in
                if let fired = s.fired { return fired }
                s.waiter = continuation
                return nil
            }
            if let fired { continuation.resume(returning: fired) }
        }
    }
}
