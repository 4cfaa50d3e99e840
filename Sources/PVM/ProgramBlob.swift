/// The GP program blob: `E(|j|) ‖ E₁(z) ‖ E(|c|) ‖ E_z(j₀) … ‖ c ‖ k` (GP A.2, `deblob`).
public struct ProgramBlob: Sendable, Equatable {
    /// The dynamic jump table: code offsets, addressed by `djump` as 2·(i+1).
    public var jumpTable: [UInt32]
    /// The instruction bytes `c`.
    public var code: [UInt8]
    /// The opcode bitmask `k`, one bool per code byte (unpacked).
    public var bitmask: [Bool]

    public init(jumpTable: [UInt32], code: [UInt8], bitmask: [Bool]) {
        precondition(code.count == bitmask.count, "bitmask must have one entry per code byte")
        self.jumpTable = jumpTable
        self.code = code
        self.bitmask = bitmask
    }

    /// Decodes a program blob, rejecting anything that does not decompose exactly.
    ///
    /// - Parameters:
    ///   - bytes: the blob.
    ///   - limits: size limits checked before allocation.
    ///   - baseOffset: added to reported offsets, when the blob sits inside a larger container.
    /// - Throws: `ProgramError` naming the field, its byte offset and what was expected.
    public init(decoding bytes: [UInt8], limits: ProgramLimits = ProgramLimits(), baseOffset: Int = 0) throws(ProgramError) {
        var r = ByteReader(bytes)
        func fail(_ kind: ProgramError.Kind, _ field: String, _ offset: Int, _ expected: String) -> ProgramError {
            ProgramError(kind, field: field, offset: offset, expected: expected)
        }
        do throws(ProgramError) {
            let tableStart = r.offset
            let entries = try r.readNatural("jump table length")
            guard entries <= UInt64(limits.maxJumpTableEntries) else {
                throw fail(.limitExceeded, "jump table length", tableStart,
                           "at most \(limits.maxJumpTableEntries) entries, declared \(entries)")
            }
            let sizeOffset = r.offset
            let entrySize = try r.readFixed(1, "jump table entry size")
            guard entrySize <= 4 else {
                throw fail(.jumpTableEntrySize, "jump table entry size", sizeOffset,
                           "an entry size of 0 to 4 bytes, found \(entrySize)")
            }
            let codeLenOffset = r.offset
            let codeLength = try r.readNatural("code length")
            guard codeLength <= UInt64(limits.maxCodeSize) else {
                throw fail(.limitExceeded, "code length", codeLenOffset,
                           "at most \(limits.maxCodeSize) bytes of code, declared \(codeLength)")
            }
            // Everything that follows has a known size: check it fits before allocating any of it.
            let tableBytes = entries * entrySize
            let maskBytes = (codeLength + 7) / 8
            let needed = tableBytes + codeLength + maskBytes
            guard needed <= UInt64(r.remaining) else {
                let what = tableBytes > UInt64(r.remaining) ? "jump table" : (tableBytes + codeLength > UInt64(r.remaining) ? "code" : "bitmask")
                throw fail(.lengthPastEnd, what, r.offset,
                           "\(needed) bytes for a \(entries)-entry jump table, \(codeLength) bytes of code and a \(maskBytes)-byte bitmask, but only \(r.remaining) remain")
            }
            var table: [UInt32] = []
            table.reserveCapacity(Int(entries))
            for i in 0..<Int(entries) {
                table.append(UInt32(truncatingIfNeeded: try r.readFixed(Int(entrySize), "jump table entry \(i)")))
            }
            let code = Array(try r.readBytes(codeLength, "code"))
            let maskOffset = r.offset
            let packed = try r.readBytes(maskBytes, "bitmask")
            var mask = [Bool](repeating: false, count: code.count)
            for i in 0..<code.count {
                mask[i] = (packed[packed.startIndex + i / 8] >> (i % 8)) & 1 == 1
            }
            if code.count % 8 != 0, let last = packed.last {
                let used = code.count % 8
                if last >> used != 0 {
                    throw fail(.bitmaskPadding, "bitmask", maskOffset + Int(maskBytes) - 1,
                               "the \(8 - used) padding bits of the last bitmask byte to be 0, found 0x\(hex(last))")
                }
            }
            guard r.isAtEnd else {
                throw fail(.trailingBytes, "end of blob", r.offset, "no more bytes, found \(r.remaining) trailing")
            }
            self.jumpTable = table
            self.code = code
            self.bitmask = mask
        } catch {
            throw ProgramError(error.kind, field: error.field, offset: baseOffset + error.offset, expected: error.expected)
        }
    }

    /// Encodes the blob. The jump-table entry size is the smallest that holds every entry.
    public func encoded() -> [UInt8] {
        let maxEntry = jumpTable.max() ?? 0
        let z: Int = jumpTable.isEmpty ? 0 : (maxEntry < 1 << 8 ? 1 : maxEntry < 1 << 16 ? 2 : maxEntry < 1 << 24 ? 3 : 4)
        var out = encodeNatural(UInt64(jumpTable.count))
        out.append(UInt8(z))
        out += encodeNatural(UInt64(code.count))
        for e in jumpTable { encodeFixed(UInt64(e), width: z, into: &out) }
        out += code
        var packed = [UInt8](repeating: 0, count: (code.count + 7) / 8)
        for (i, bit) in bitmask.enumerated() where bit { packed[i / 8] |= 1 << (i % 8) }
        out += packed
        return out
    }
}
