#!/usr/bin/env python3
"""Writes the seeds of tests/fuzz/corpus/jitdump: jitdump files with every
record kind, in both byte orders, and a few that lie. Run from the repo
root. The layout is perf's tools/perf/Documentation/jitdump-specification.txt."""
import struct
from pathlib import Path


def header(e):
    return struct.pack(e + "IIIIIIQQ", 0x4A695444, 1, 40, 62, 0, 4242, 1, 0)


def load(e, addr, size, index, name, code=b""):
    body = struct.pack(e + "IIQQQQ", 4242, 4243, addr, addr, size, index) + name + b"\0" + code
    return struct.pack(e + "IIQ", 0, 16 + len(body), 5) + body


def move(e, old, new, size, index):
    body = struct.pack(e + "IIQQQQQ", 4242, 4243, new, old, new, size, index)
    return struct.pack(e + "IIQ", 1, 16 + len(body), 6) + body


def debug(e, code, entries):
    body = struct.pack(e + "QQ", code, len(entries))
    for addr, line, name in entries:
        body += struct.pack(e + "QII", addr, line, 0) + name + b"\0"
    return struct.pack(e + "IIQ", 2, 16 + len(body), 7) + body


def close(e):
    return struct.pack(e + "IIQ", 3, 16, 8)


def main():
    out = Path("tests/fuzz/corpus/jitdump")
    out.mkdir(parents=True, exist_ok=True)
    for e, tag in (("<", "le"), (">", "be")):
        d = header(e)
        d += debug(e, 0x5000, [(0x5000, 10, b"/src/a.js"), (0x5010, 12, b"\xff")])
        d += load(e, 0x5000, 0x40, 1, b"JS:*hot /src/a.js:10", b"\xcc" * 8)
        d += load(e, 0x6000, 0x20, 2, b"JS:cold")
        d += move(e, 0x6000, 0x7000, 0x20, 2)
        d += load(e, 0x5020, 0x8, 3, b"inside")
        d += close(e)
        (out / ("records-" + tag)).write_bytes(d)
    e = "<"
    lie = header(e) + struct.pack(e + "IIQ", 0, 0xFFFFFFFF, 0) + load(e, 0x1000, 0x10, 1, b"x")
    (out / "lying-length").write_bytes(lie)
    wrap = header(e) + load(e, 0xFFFFFFFFFFFFFF00, 0x200, 1, b"wraps")
    wrap += debug(e, 0x1000, [(0x1000, 1, b"f")])[:-3]
    (out / "overflow-cut").write_bytes(wrap)


if __name__ == "__main__":
    main()
