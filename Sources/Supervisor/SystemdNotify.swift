// sd_notify(3) without libsystemd: one datagram to the AF_UNIX socket named by NOTIFY_SOCKET
// (a path, or an abstract name when it starts with '@'). READY=1 once serving, STOPPING=1 when
// draining starts, WATCHDOG=1 every half WATCHDOG_USEC when the unit sets WatchdogSec=.
#if canImport(Glibc)
import Glibc
#endif

public enum SystemdNotify {
    /// Sends `state` (e.g. "READY=1"); false when there is no NOTIFY_SOCKET or sending failed.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == message.count
    }

    /// Half of WATCHDOG_USEC in nanoseconds, when the watchdog is on (and meant for this pid).
    public static var watchdogIntervalNanos: UInt64? {
        guard let text = getenv("WATCHDOG_USEC").map({ String(cString: $0) }), let usec = UInt64(text), usec > 0
        else { return nil }
        if let pidText = getenv("WATCHDOG_PID").map({ String(cString: $0) }), let pid = Int32(pidText), pid != getpid() {
            return nil
        }
        return usec * 1000 / 2
    }
}
