// Small pure pieces: log line quoting, the metrics address, verdict labels.
import WireProtocol
import XCTest
@testable import Supervisor

final class OperationsUnitTests: XCTestCase {
    func testLogValuesStayOnOneLineAndParseAsKeyValue() {
        XCTAssertEqual(LineLogHandler.quote("plain"), "plain")
        XCTAssertEqual(LineLogHandler.quote("two words"), "\"two words\"")
        XCTAssertEqual(LineLogHandler.quote("a=b"), "\"a=b\"")
        XCTAssertEqual(LineLogHandler.quote("line\nbreak"), "line\\nbreak")
        XCTAssertEqual(LineLogHandler.quote("say \"hi\""), "\"say \\\"hi\\\"\"")
        XCTAssertEqual(LineLogHandler.quote(""), "\"\"")
        XCTAssertEqual(LineLogHandler.syslogPriority(.error), 3)
        XCTAssertEqual(LineLogHandler.syslogPriority(.info), 6)
    }

    func testMetricsAddress() {
        XCTAssertEqual(MetricsEndpoint.parse("127.0.0.1:9464")?.host, "127.0.0.1")
        XCTAssertEqual(MetricsEndpoint.parse("[::1]:9464")?.host, "::1")
        XCTAssertEqual(MetricsEndpoint.parse("localhost:80")?.port, 80)
        XCTAssertNil(MetricsEndpoint.parse("9464"))
        XCTAssertNil(MetricsEndpoint.parse(":9464"))
        XCTAssertNil(MetricsEndpoint.parse("host:70000"))
    }

    func testEveryVerdictHasAPrometheusLabel() {
        let verdicts: [Verdict] = [
            .valid(output: [], gasUsed: 0), .invalid(.panic(pc: 0)), .invalid(.outOfGas), .invalid(.pageFault(address: 0)),
            .invalid(.badCode(message: "")), .error(.timedOut), .error(.workerDied(signal: 9)),
            .error(.sandboxFailure(message: "")), .error(.overloaded), .error(.shuttingDown), .error(.internal(message: "")),
            .error(.unknownCode(BlobHash.of([]))), .error(.limitExceeded(limit: .gas, requested: 1, maximum: 0)),
        ]
        let known = Set(DaemonMetrics.verdictLabels.map { "\($0.verdict)/\($0.reason)" })
        for verdict in verdicts {
            let (v, r) = DaemonMetrics.labels(verdict)
            XCTAssertTrue(known.contains("\(v)/\(r)"), "\(verdict)")
        }
        XCTAssertEqual(known.count, verdicts.count)
    }
}
