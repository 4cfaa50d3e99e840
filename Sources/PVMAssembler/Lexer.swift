/// One token of assembler source.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// A name: mnemonic, register, label. Letters, digits, `_`, `.` and `$`, not starting
        /// with a digit.
        case identifier(String)
        /// A directive name including its leading dot, e.g. `.u32`.
        case directive(String)
        /// An unsigned integer literal (decimal, `0x` hex or `0b` binary, `_` separators allowed).
        case number(UInt64)
        /// A string literal, escapes resolved, as UTF-8 bytes.
        case string([UInt8])
        /// One of `, : @ & + - *`.
        case punctuation(Character)
    }

    var kind: Kind
    var location: SourceLocation

    /// How the token reads in an error message.
    var quoted: String {
        switch kind {
        case .identifier(let s), .directive(let s): return "'\(s)'"
        case .number(let n): return "'\(n)'"
        case .string: return "a string"
        case .punctuation(let c): return "'\(c)'"
        }
    }
}

/// Splits one source line into tokens, dropping comments (`;` or `#` to end of line).
struct Lexer {
    private let bytes: [UInt8]
    private let line: Int
    private var i = 0

    init(line: Substring, number: Int) {
        self.bytes = Array(line.utf8)
        self.line = number
    }

    /// All tokens of the line.
    static func tokenize(_ line: Substring, number: Int) throws(AssemblyError) -> [Token] {
        var lexer = Lexer(line: line, number: number)
        var tokens: [Token] = []
        while let t = try lexer.next() { tokens.append(t) }
        return tokens
    }

    private func location(_ at: Int) -> SourceLocation { SourceLocation(line: line, column: at + 1) }

    private static func isNameStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x24
    }

    private static func isNameChar(_ c: UInt8) -> Bool {
        isNameStart(c) || isDigit(c) || c == 0x2E
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private mutating func next() throws(AssemblyError) -> Token? {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D { i += 1 }
        guard i < bytes.count else { return nil }
        let start = i
        let c = bytes[i]
        if c == UInt8(ascii: ";") || c == UInt8(ascii: "#") {
            i = bytes.count
            return nil
        }
        if Self.isNameStart(c) || (c == UInt8(ascii: ".") && i + 1 < bytes.count && Self.isNameStart(bytes[i + 1])) {
            i += 1
            while i < bytes.count, Self.isNameChar(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            return Token(kind: c == UInt8(ascii: ".") ? .directive(text) : .identifier(text), location: location(start))
        }
        if Self.isDigit(c) { return try number(start) }
        if c == UInt8(ascii: "\"") { return try string(start) }
        if ",:@&+-*".utf8.contains(c) {
            i += 1
            return Token(kind: .punctuation(Character(Unicode.Scalar(c))), location: location(start))
        }
        throw AssemblyError(location(start), "unexpected character '\(Character(Unicode.Scalar(c)))'")
    }

    private mutating func number(_ start: Int) throws(AssemblyError) -> Token {
        var radix: UInt64 = 10
        if bytes[i] == UInt8(ascii: "0"), i + 1 < bytes.count {
            switch bytes[i + 1] {
            case UInt8(ascii: "x"), UInt8(ascii: "X"): radix = 16
            case UInt8(ascii: "b"), UInt8(ascii: "B"): radix = 2
            default: break
            }
            if radix != 10 { i += 2 }
        }
        var value: UInt64 = 0
        var digits = 0
        var overflow = false
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "_") { i += 1; continue }
            let d: UInt64
            switch c {
            case 0x30...0x39: d = UInt64(c - 0x30)
            case 0x61...0x66: d = UInt64(c - 0x61 + 10)
            case 0x41...0x46: d = UInt64(c - 0x41 + 10)
            default:
                if Self.isNameChar(c) {
                    throw AssemblyError(location(i), "expected a digit in a base-\(radix) number, found '\(Character(Unicode.Scalar(c)))'")
                }
                d = 99
            }
            if d == 99 { break }
            guard d < radix else {
                throw AssemblyError(location(i), "expected a digit in a base-\(radix) number, found '\(Character(Unicode.Scalar(c)))'")
            }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(d)
            overflow = overflow || o1 || o2
            value = s
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw AssemblyError(location(start), "expected digits after the number prefix") }
        guard !overflow else {
            throw AssemblyError(location(start), "number out of range: expected at most 0xFFFFFFFFFFFFFFFF")
        }
        return Token(kind: .number(value), location: location(start))
    }

    private mutating func string(_ start: Int) throws(AssemblyError) -> Token {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return Token(kind: .string(out), location: location(start))
            }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { break }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "0"): out.append(0)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
            case UInt8(ascii: "x"):
                guard i + 1 < bytes.count, let h = UInt8(String(decoding: bytes[i..<(i + 2)], as: UTF8.self), radix: 16) else {
                    throw AssemblyError(location(i - 2), "expected two hex digits after \\x")
                }
                out.append(h)
                i += 2
            default:
                throw AssemblyError(location(i - 2), "unknown escape '\\\(Character(Unicode.Scalar(e)))': expected \\n, \\t, \\r, \\0, \\\\, \\\" or \\xNN")
            }
        }
        throw AssemblyError(location(start), "unterminated string: expected a closing '\"'")
    }
}

/// Register names: `r0`…`r12` and the RISC-V-style aliases.
enum RegisterName {
    static let aliases: [String: UInt8] = [
        "ra": 0, "sp": 1, "t0": 2, "t1": 3, "t2": 4, "s0": 5, "s1": 6,
        "a0": 7, "a1": 8, "a2": 9, "a3": 10, "a4": 11, "a5": 12,
    ]

    /// The register index for a name, or nil.
    static func parse(_ name: String) -> UInt8? {
        if let r = aliases[name] { return r }
        guard name.count >= 2, name.first == "r", let n = UInt8(name.dropFirst()), n <= 12,
              String(n) == name.dropFirst() else { return nil }
        return n
    }

    /// Whether a name looks like an attempt at a register (`r13`, `r99`), for better errors.
    static func looksLikeRegister(_ name: String) -> Bool {
        name.count >= 2 && name.first == "r" && name.dropFirst().allSatisfy(\.isNumber)
    }
}
