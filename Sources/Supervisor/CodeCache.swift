// The registry of blobs named by their BLAKE2b-256 hash (RegisterCode, then ValidateCandidate
// by hash): bounded by entry count and by total bytes, least recently used evicted first.
import Synchronization
import WireProtocol

public final class CodeCache: Sendable {
    private struct Entry {
        var blob: [UInt8]
        var lastUse: UInt64
    }

    private struct State {
        var entries: [BlobHash: Entry] = [:]
        var bytes: UInt64 = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    public let maxEntries: Int
    public let maxBytes: UInt64

    public init(maxEntries: Int, maxBytes: UInt64) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    public var count: Int { state.withLock { $0.entries.count } }
    public var byteCount: UInt64 { state.withLock { $0.bytes } }

    /// Stores `blob` (if not already held) and returns its hash; evicts the least recently used
    /// blobs to stay within both bounds. A blob larger than `maxBytes` is not stored.
    @discardableResult
    public func register(_ blob: [UInt8]) -> BlobHash {
        let hash = BlobHash.of(blob)
        state.withLock { s in
            s.clock += 1
            if s.entries[hash] != nil {
                s.entries[hash]!.lastUse = s.clock
                return
            }
            guard UInt64(blob.count) <= maxBytes, maxEntries > 0 else { return }
            while s.entries.count >= maxEntries || s.bytes + UInt64(blob.count) > maxBytes {
                // O(n) scan: n is at most a few thousand and registration is rare next to validation.
                guard let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                s.bytes -= UInt64(oldest.value.blob.count)
                s.entries[oldest.key] = nil
            }
            s.entries[hash] = Entry(blob: blob, lastUse: s.clock)
            s.bytes += UInt64(blob.count)
        }
        return hash
    }

    /// The blob with this hash, marking it used; nil if never registered or evicted.
    public func lookup(_ hash: BlobHash) -> [UInt8]? {
        state.withLock { s in
            guard s.entries[hash] != nil else { return nil }
            s.clock += 1
            s.entries[hash]!.lastUse = s.clock
            return s.entries[hash]!.blob
        }
    }
}
