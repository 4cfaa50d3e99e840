import Foundation
import PVM

/// One JAM PVM conformance vector (schema v0.4, `Tests/Vectors/pvm/schema.json`).
public struct TestVector: Codable, Sendable {
    public struct PageMapEntry: Codable, Sendable {
        public var address: UInt32
        public var length: UInt32
        public var isWritable: Bool

        enum CodingKeys: String, CodingKey {
            case address, length
            case isWritable = "is-writable"
        }
    }

    public struct MemoryChunk: Codable, Sendable {
        public var address: UInt32
        public var contents: [UInt8]
    }

    public var name: String
    public var initialRegs: [UInt64]
    public var initialPC: UInt32
    public var initialPageMap: [PageMapEntry]
    public var initialMemory: [MemoryChunk]
    public var initialGas: Int64
    public var program: [UInt8]
    public var expectedStatus: String
    public var expectedRegs: [UInt64]
    public var expectedPC: UInt32
    public var expectedMemory: [MemoryChunk]
    public var expectedGas: Int64
    public var expectedPageFaultAddress: UInt32?

    enum CodingKeys: String, CodingKey {
        case name
        case initialRegs = "initial-regs"
        case initialPC = "initial-pc"
        case initialPageMap = "initial-page-map"
        case initialMemory = "initial-memory"
        case initialGas = "initial-gas"
        case program
        case expectedStatus = "expected-status"
        case expectedRegs = "expected-regs"
        case expectedPC = "expected-pc"
        case expectedMemory = "expected-memory"
        case expectedGas = "expected-gas"
        case expectedPageFaultAddress = "expected-page-fault-address"
    }

    /// Loads a vector from a JSON file.
    public static func load(_ url: URL) throws -> TestVector {
        try JSONDecoder().decode(TestVector.self, from: Data(contentsOf: url))
    }

    /// Loads every `*.json` file in `directory` (and its `programs/` subfolder, if that is where
    /// the files are), sorted by name.
    public static func loadAll(from directory: URL) throws -> [(URL, Result<TestVector, Error>)] {
        let fm = FileManager.default
        var dir = directory
        let programs = directory.appendingPathComponent("programs")
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: programs.path, isDirectory: &isDir), isDir.boolValue { dir = programs }
        let files = try fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return files.map { url in (url, Result { try TestVector.load(url) }) }
    }
}
