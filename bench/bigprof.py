#!/usr/bin/python3
"""bigprof.py OUT.pb.gz MBYTES START LIMIT: writes a CPU-like pprof profile
of about MBYTES megabytes of protobuf (before compression), as Go's
runtime/pprof lays it out (samples, then locations, then strings), with no
mapping table (what attach is for). Its 4,096 locations lie between START
and LIMIT; samples are stacks of up to 32 of them along call paths that
share callers, drawn from a fixed seed, so the stream compresses about as
a real profile's does (about 4.5:1 at gzip -1) rather than like one repeated
block. google/pprof's parser accepts it (tests/e2e/pprofcheck)."""
import gzip
import random
import sys


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(n, payload):
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def uint(n, v):
    return varint(n << 3) + varint(v)


def main():
    out, mbytes, start, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3], 0), int(sys.argv[4], 0)
    rnd = random.Random(16)
    nloc = 4096
    strings = [b"", b"samples", b"count", b"cpu", b"nanoseconds"]
    head = field(1, uint(1, 1) + uint(2, 2)) + field(1, uint(1, 3) + uint(2, 4))
    # Call paths share their callers, as a real program's do: 500 paths
    # from one root, and each sample a path cut at some depth (leaf first).
    paths = []
    for _ in range(500):
        base = paths[rnd.randrange(len(paths))][rnd.randrange(4):] if paths else []
        paths.append([rnd.randrange(1, nloc + 1) for _ in range(rnd.randrange(1, 12))] + base)
    distinct = []
    for _ in range(50000):
        path = paths[rnd.randrange(len(paths))][:32]
        stack = b"".join(varint(loc) for loc in path[rnd.randrange(len(path)):])
        vals = varint(rnd.randrange(1, 5)) + varint(rnd.randrange(1, 5) * 10000000)
        distinct.append(field(2, field(1, stack) + field(2, vals)))
    want = int(mbytes * 1e6)
    with gzip.open(out + ".tmp", "wb", compresslevel=1) as f:
        f.write(head)
        size = len(head)
        while size < want:
            chunk = b"".join(rnd.choices(distinct, k=10000))
            f.write(chunk)
            size += len(chunk)
        step = max(1, (limit - start) // (nloc + 1))
        for i in range(nloc):
            f.write(field(4, uint(1, i + 1) + uint(3, start + step * i)))
        for s in strings:
            f.write(field(6, s))
        f.write(uint(9, 1700000000 * 10**9) + uint(10, 10**9))
        f.write(field(11, uint(1, 3) + uint(2, 4)) + uint(12, 10000000))
    import os
    os.rename(out + ".tmp", out)


main()
