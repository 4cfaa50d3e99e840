#!/usr/bin/env python3
"""Minimal client for alcatrazd, written from docs/protocol.md alone (Python 3 stdlib only).

    alcatraz_client.py --socket PATH BLOB [--input-hex HEX] [--gas N]
                       [--priority backing|approval|dispute] [--deadline-ms MS] [--by-hash]
    alcatraz_client.py --emit-golden

Exit status: 0 valid, 1 invalid, 2 error verdict (retryable), 3 protocol or connection failure.
--emit-golden prints this script's encodings of the examples in docs/protocol.md, one
"name hex" per line; the Swift test suite compares them with its own.
"""

import argparse
import hashlib
import socket
import struct
import sys

PROTOCOL_VERSION = 1
HANDSHAKE_MAX_FRAME = 64 * 1024
PRIORITIES = ["backing", "approval", "dispute"]
LIMIT_KINDS = ["blobBytes", "inputBytes", "gas", "inFlight"]
ERROR_CODES = ["badLength", "frameTooLarge", "unknownTag", "truncated", "trailingBytes",
               "invalidValue", "unexpectedMessage", "duplicateRequestId"]

# ---------------------------------------------------------------- SCALE encoding


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)


def compact(n):
    if n < 1 << 6:
        return u8(n << 2)
    if n < 1 << 14:
        return u16(n << 2 | 1)
    if n < 1 << 30:
        return u32(n << 2 | 2)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return u8((len(raw) - 4) << 2 | 3) + raw


def vec(b): return compact(len(b)) + bytes(b)
def string(s): return vec(s.encode("utf-8"))
def opt_u64(v): return b"\x00" if v is None else b"\x01" + u64(v)
def frame(payload): return u32(len(payload)) + payload

# Values are tuples whose first element names the variant, e.g. ("panic", 16).


def enc_invalid(r):
    kind = r[0]
    if kind == "panic": return u8(0) + u32(r[1])
    if kind == "outOfGas": return u8(1)
    if kind == "pageFault": return u8(2) + u32(r[1])
    if kind == "badCode": return u8(3) + string(r[1])
    raise ValueError(kind)


def enc_service_error(e):
    kind = e[0]
    if kind == "timedOut": return u8(0)
    if kind == "workerDied": return u8(1) + u32(e[1])
    if kind == "sandboxFailure": return u8(2) + string(e[1])
    if kind == "overloaded": return u8(3)
    if kind == "shuttingDown": return u8(4)
    if kind == "internal": return u8(5) + string(e[1])
    if kind == "unknownCode": return u8(6) + e[1]
    if kind == "limitExceeded": return u8(7) + u8(LIMIT_KINDS.index(e[1])) + u64(e[2]) + u64(e[3])
    raise ValueError(kind)


def enc_verdict(v):
    if v[0] == "valid": return u8(0) + vec(v[1]) + u64(v[2])
    if v[0] == "invalid": return u8(1) + enc_invalid(v[1])
    if v[0] == "error": return u8(2) + enc_service_error(v[1])
    raise ValueError(v[0])


def client_hello(version, name): return u8(0x01) + u16(version) + string(name)


def validate_candidate(request_id, code, inp, gas, priority, deadline_ms=None):
    """code is the blob (bytes) or ("hash", 32 bytes)."""
    code_enc = u8(1) + code[1] if isinstance(code, tuple) else u8(0) + vec(code)
    return (u8(0x02) + u64(request_id) + code_enc + vec(inp) + u64(gas)
            + u8(PRIORITIES.index(priority)) + opt_u64(deadline_ms))


def register_code(request_id, code): return u8(0x03) + u64(request_id) + vec(code)
def status_request(request_id): return u8(0x04) + u64(request_id)

# Server messages, encoded as ("name", fields...) tuples; used for --emit-golden only.


def enc_server(m):
    kind = m[0]
    if kind == "hello":
        _, version, name, limits = m
        return u8(0x41) + u16(version) + string(name) + b"".join(
            (u64 if i == 3 else u32)(x) for i, x in enumerate(limits))
    if kind == "versionMismatch": return u8(0x42) + u16(m[1]) + u16(m[2]) + u16(m[3])
    if kind == "validationResult":
        return u8(0x43) + u64(m[1]) + enc_verdict(m[2]) + b"".join(u64(t) for t in m[3])
    if kind == "codeRegistered": return u8(0x44) + u64(m[1]) + m[2]
    if kind == "status":
        _, rid, version, uptime, queued, ready, busy, verdicts, cache = m
        return (u8(0x45) + u64(rid) + string(version) + u64(uptime) + b"".join(u32(q) for q in queued)
                + u32(ready) + u32(busy) + b"".join(u64(c) for c in verdicts) + u32(cache))
    if kind == "requestFailed": return u8(0x46) + u64(m[1]) + enc_service_error(m[2])
    if kind == "protocolError": return u8(0x7f) + opt_u64(m[1]) + u8(ERROR_CODES.index(m[2])) + string(m[3])
    raise ValueError(kind)

# ---------------------------------------------------------------- SCALE decoding


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise DecodeError("truncated at offset %d" % self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack("<H", self.take(2))[0]
    def u32(self): return struct.unpack("<I", self.take(4))[0]
    def u64(self): return struct.unpack("<Q", self.take(8))[0]

    def compact(self):
        start, first = self.pos, self.u8()
        mode = first & 3
        if mode == 0: return first >> 2
        self.pos = start
        if mode == 1: value, floor = self.u16() >> 2, 1 << 6
        elif mode == 2: value, floor = self.u32() >> 2, 1 << 14
        else:
            self.pos += 1
            raw = self.take((first >> 2) + 4)
            value, floor = int.from_bytes(raw, "little"), max(1 << 30, 1 << (8 * (len(raw) - 1)))
        if value < floor:
            raise DecodeError("non-canonical compact at offset %d" % start)
        return value

    def vec(self):
        n = self.compact()
        if n > len(self.data) - self.pos:  # check before allocating
            raise DecodeError("length %d exceeds input at offset %d" % (n, self.pos))
        return self.take(n)

    def string(self): return self.vec().decode("utf-8")

    def opt_u64(self):
        tag = self.u8()
        if tag > 1: raise DecodeError("bad Option tag %d" % tag)
        return self.u64() if tag else None

    def enum(self, names):
        tag = self.u8()
        if tag >= len(names): raise DecodeError("unknown tag %d at offset %d" % (tag, self.pos - 1))
        return names[tag]

    def end(self):
        if self.pos != len(self.data):
            raise DecodeError("%d trailing bytes" % (len(self.data) - self.pos))


def dec_invalid(r):
    kind = r.enum(["panic", "outOfGas", "pageFault", "badCode"])
    if kind in ("panic", "pageFault"): return (kind, r.u32())
    if kind == "badCode": return (kind, r.string())
    return (kind,)


def dec_service_error(r):
    kind = r.enum(["timedOut", "workerDied", "sandboxFailure", "overloaded", "shuttingDown",
                   "internal", "unknownCode", "limitExceeded"])
    if kind == "workerDied": return (kind, r.u32())
    if kind in ("sandboxFailure", "internal"): return (kind, r.string())
    if kind == "unknownCode": return (kind, r.take(32))
    if kind == "limitExceeded": return (kind, r.enum(LIMIT_KINDS), r.u64(), r.u64())
    return (kind,)


def dec_verdict(r):
    kind = r.enum(["valid", "invalid", "error"])
    if kind == "valid": return (kind, r.vec(), r.u64())
    return (kind, dec_invalid(r) if kind == "invalid" else dec_service_error(r))


def dec_server(payload):
    r = Reader(payload)
    tag = r.u8()
    if tag == 0x41:
        m = ("hello", r.u16(), r.string(), tuple(r.u64() if i == 3 else r.u32() for i in range(8)))
    elif tag == 0x42: m = ("versionMismatch", r.u16(), r.u16(), r.u16())
    elif tag == 0x43: m = ("validationResult", r.u64(), dec_verdict(r), (r.u64(), r.u64(), r.u64()))
    elif tag == 0x44: m = ("codeRegistered", r.u64(), r.take(32))
    elif tag == 0x45:
        m = ("status", r.u64(), r.string(), r.u64(), (r.u32(), r.u32(), r.u32()), r.u32(), r.u32(),
             (r.u64(), r.u64(), r.u64()), r.u32())
    elif tag == 0x46: m = ("requestFailed", r.u64(), dec_service_error(r))
    elif tag == 0x7f: m = ("protocolError", r.opt_u64(), r.enum(ERROR_CODES), r.string())
    else: raise DecodeError("unknown server message tag 0x%02x" % tag)
    r.end()
    return m

# ---------------------------------------------------------------- golden vectors

CODE = bytes([1, 2, 3, 4])
CODE_HASH = hashlib.blake2b(CODE, digest_size=32).digest()
LIMITS = (16 << 20, 4 << 20, 1 << 20, 10_000_000_000, 256, 64, 4, 1024)
TIMINGS = (15, 120, 480)

GOLDEN_FRAMES = [
    ("client_hello", client_hello(1, "example-node")),
    ("server_hello", enc_server(("hello", 1, "alcatrazd/0.1.0", LIMITS))),
    ("version_mismatch", enc_server(("versionMismatch", 2, 1, 1))),
    ("validate_inline", validate_candidate(1, CODE, b"\xaa\xbb", 1_000_000, "backing")),
    ("validate_by_hash", validate_candidate(2, ("hash", CODE_HASH), b"", 500, "dispute", 2000)),
    ("register_code", register_code(3, CODE)),
    ("code_registered", enc_server(("codeRegistered", 3, CODE_HASH))),
    ("status_request", status_request(4)),
    ("status_report", enc_server(("status", 4, "0.1.0", 3_600_000, (2, 1, 0), 3, 1, (100, 5, 1), 7))),
    ("result_valid", enc_server(("validationResult", 1, ("valid", b"\x2a", 1234), TIMINGS))),
    ("result_invalid", enc_server(("validationResult", 2, ("invalid", ("panic", 16)), TIMINGS))),
    ("result_error", enc_server(("validationResult", 5, ("error", ("overloaded",)), (0, 0, 0)))),
    ("request_failed", enc_server(("requestFailed", 3, ("limitExceeded", "blobBytes", 5 << 20, 4 << 20)))),
    ("protocol_error", enc_server(("protocolError", None, "frameTooLarge", "frame too large"))),
    ("protocol_error_with_id", enc_server(("protocolError", 7, "truncated", "truncated"))),
]

GOLDEN_VERDICTS = [
    ("verdict_valid", ("valid", b"", 0)),
    ("verdict_panic", ("invalid", ("panic", 16))),
    ("verdict_out_of_gas", ("invalid", ("outOfGas",))),
    ("verdict_page_fault", ("invalid", ("pageFault", 0x10000))),
    ("verdict_bad_code", ("invalid", ("badCode", "bad jump table"))),
    ("verdict_timed_out", ("error", ("timedOut",))),
    ("verdict_worker_died", ("error", ("workerDied", 9))),
    ("verdict_sandbox_failure", ("error", ("sandboxFailure", "seccomp"))),
    ("verdict_overloaded", ("error", ("overloaded",))),
    ("verdict_shutting_down", ("error", ("shuttingDown",))),
    ("verdict_internal", ("error", ("internal", "bug"))),
    ("verdict_unknown_code", ("error", ("unknownCode", CODE_HASH))),
    ("verdict_limit_exceeded", ("error", ("limitExceeded", "gas", 1 << 40, 10_000_000_000))),
]


def emit_golden():
    for name, payload in GOLDEN_FRAMES:
        if payload[0] >= 0x41:  # a server message: our decoder must read back what we wrote
            assert enc_server(dec_server(payload)) == payload, name
        print(name, frame(payload).hex())
    for name, verdict in GOLDEN_VERDICTS:
        encoded = enc_verdict(verdict)
        r = Reader(encoded)
        assert dec_verdict(r) == verdict and r.pos == len(encoded), name
        print(name, encoded.hex())
    for n in (0, 1, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, (1 << 32) - 1, 1 << 32, (1 << 64) - 1):
        encoded = compact(n)
        assert Reader(encoded).compact() == n
        print("compact_%d" % n, encoded.hex())

# ---------------------------------------------------------------- client


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk: raise ConnectionError("connection closed by server")
        buf += chunk
    return bytes(buf)


def read_message(sock, max_frame):
    length = struct.unpack("<I", read_exact(sock, 4))[0]
    if length == 0 or length > max_frame:  # checked before reading the payload
        raise DecodeError("bad frame length %d (maximum %d)" % (length, max_frame))
    return dec_server(read_exact(sock, length))


def describe(verdict):
    kind, detail = verdict[0], verdict[1:]
    if kind == "valid":
        return "valid: output=%s gas_used=%d" % (detail[0].hex() or "(empty)", detail[1])
    sub = detail[0]
    args = ", ".join(x.hex() if isinstance(x, bytes) else str(x) for x in sub[1:])
    return "%s: %s%s" % (kind, sub[0], "(%s)" % args if args else "")


def await_response(sock, max_frame, request_id):
    while True:
        m = read_message(sock, max_frame)
        if m[0] == "protocolError":
            raise DecodeError("server reported %s: %s" % (m[2], m[3]))
        if m[1] == request_id:
            return m


def run(args):
    blob = open(args.blob, "rb").read()
    inp = bytes.fromhex(args.input_hex)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(args.socket)
    sock.sendall(frame(client_hello(PROTOCOL_VERSION, "alcatraz_client.py")))
    hello = read_message(sock, HANDSHAKE_MAX_FRAME)
    if hello[0] == "versionMismatch":
        print("version mismatch: server speaks %d..%d, we speak %d" % (hello[2], hello[3], hello[1]))
        return 3
    if hello[0] != "hello":
        print("handshake failed: %r" % (hello,))
        return 3
    max_frame = hello[3][0]
    print("connected to %s (protocol %d)" % (hello[2], hello[1]), file=sys.stderr)
    code = blob
    if args.by_hash:
        sock.sendall(frame(register_code(1, blob)))
        reply = await_response(sock, max_frame, 1)
        if reply[0] != "codeRegistered":
            print("register failed: %s" % describe(("error", reply[2])))
            return 2
        if reply[2] != hashlib.blake2b(blob, digest_size=32).digest():
            print("server hash %s does not match the local BLAKE2b-256" % reply[2].hex())
            return 3
        code = ("hash", reply[2])
    sock.sendall(frame(validate_candidate(2, code, inp, args.gas, args.priority, args.deadline_ms)))
    reply = await_response(sock, max_frame, 2)
    verdict, timings = reply[2], reply[3]
    print(describe(verdict))
    print("timings: queued=%dus compile=%dus execute=%dus" % timings)
    return {"valid": 0, "invalid": 1, "error": 2}[verdict[0]]


def main():
    p = argparse.ArgumentParser(description="Validate a PVM program with alcatrazd.")
    p.add_argument("blob", nargs="?", help="program blob file")
    p.add_argument("--socket", help="path of the alcatrazd Unix socket")
    p.add_argument("--input-hex", default="", help="input bytes as hex")
    p.add_argument("--gas", type=int, default=1_000_000, help="gas limit")
    p.add_argument("--priority", choices=PRIORITIES, default="backing")
    p.add_argument("--deadline-ms", type=int, default=None, help="relative deadline in ms")
    p.add_argument("--by-hash", action="store_true", help="register the blob, then send its hash")
    p.add_argument("--emit-golden", action="store_true", help="print golden encodings and exit")
    args = p.parse_args()
    if args.emit_golden:
        emit_golden()
        return 0
    if not args.socket or not args.blob:
        p.error("--socket and BLOB are required")
    try:
        return run(args)
    except (OSError, DecodeError, UnicodeDecodeError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
