"""modmap attach: profiles given the module map of their process."""
import gzip
import os
import random
import re
import subprocess
import zlib

import pytest

from conftest import MODMAP, run_modmap

SUMMARY = re.compile(rb"modmap: attached (\d+) mappings from (.*): (\d+) of (\d+) locations mapped")


# ---- protobuf, just enough to compare profiles field by field -------------

def _varint(data, i):
    v = shift = 0
    while True:
        c = data[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(data):
    """The fields of a protobuf message: (number, value, raw bytes)."""
    out, i = [], 0
    while i < len(data):
        start = i
        key, i = _varint(data, i)
        wt = key & 7
        if wt == 0:
            v, i = _varint(data, i)
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            v, i = data[i:i + n], i + n
        elif wt == 2:
            n, i = _varint(data, i)
            v, i = data[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wt}")
        out.append((key >> 3, v, data[start:i]))
    return out


def key(number, wt):
    return _enc(number << 3 | wt)


def _enc(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_uint(number, v):
    return key(number, 0) + _enc(v)


def pb_bytes(number, b):
    return key(number, 2) + _enc(len(b)) + b


# ---- fixtures ---------------------------------------------------------------

def summary(p):
    m = SUMMARY.search(p.stderr)
    assert m, p.stderr
    assert p.stderr.count(b"\n") == 1
    return int(m[1]), m[2].decode(), int(m[3]), int(m[4])


def snapshot_from_json(doc):
    """A pprof snapshot (mapping table only) of modmap's JSON records,
    main executable first, as `modmap --format pprof` writes one."""
    strings = [b""]

    def s(text):
        b = text.encode("utf-8", "surrogateescape")
        if b not in strings:
            strings.append(b)
        return strings.index(b)

    maps = sorted(doc["mappings"], key=lambda m: not m.get("main"))
    out = b""
    for i, m in enumerate(maps, 1):
        body = pb_uint(1, i)
        for n, k in ((2, "start"), (3, "limit"), (4, "offset")):
            if int(m[k], 16):
                body += pb_uint(n, int(m[k], 16))
        for n, k in ((5, "file"), (6, "build_id")):
            if m[k]:
                body += pb_uint(n, s(m[k]))
        out += pb_bytes(3, body)
    out += b"".join(pb_bytes(6, b) for b in strings)
    return gzip.compress(out)


# ---- errors ------------------------------------------------------------------

@pytest.fixture
def snap(tmp_path):
    """A small valid snapshot, so the errors below are the profile's."""
    path = tmp_path / "snap.pb.gz"
    path.write_bytes(snapshot_from_json({"mappings": [
        {"start": "0x1000", "limit": "0x2000", "offset": "0x0", "file": "/bin/x",
         "build_id": "ab", "main": True}]}))
    return path


def good_profile():
    loc = pb_bytes(4, pb_uint(1, 1) + pb_uint(3, 0x1100))
    return loc + pb_bytes(6, b"") + pb_bytes(6, b"samples")


def bomb(size):
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    return b"".join(z.compress(chunk) for _ in range(size >> 20)) + z.flush()


rng = random.Random(6)
BAD = {
    "random bytes": (bytes(rng.randrange(256) for _ in range(4096)), b"not a valid pprof profile"),
    "gzip of random bytes": (gzip.compress(bytes(rng.randrange(256) for _ in range(4096))),
                             b"not a valid pprof profile"),
    "not gzip at all": (b"\x1f\x8bnot really gzip", b"gzip"),
    "truncated gzip": (gzip.compress(good_profile())[:-12], b"truncated gzip data"),
    "truncated profile": (good_profile()[:-3], b"length past the end"),
    "varint longer than ten bytes": (b"\x48" + b"\xff" * 10 + b"\x01",
                                     b"varint longer than 10 bytes"),
    "length past the end": (pb_bytes(2, b"x" * 10)[:-4], b"length past the end"),
    "empty": (b"", b"empty"),
    "gzip bomb": (bomb(64 << 20), b"exceeds --max-size"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_profile(name, snap, tmp_path):
    data, why = BAD[name]
    prof, out = tmp_path / "in.pb.gz", tmp_path / "out.pb.gz"
    prof.write_bytes(data)
    p = run_modmap("attach", "--snapshot", snap, "--max-size", "16M", prof, "-o", out,
                   check=False)
    assert p.returncode == 1
    assert p.stderr.startswith(f"modmap: {prof}: ".encode()), p.stderr
    assert why in p.stderr and p.stderr.count(b"\n") == 1, p.stderr
    assert not out.exists()
    assert prof.read_bytes() == data

    # Over itself: the input stays as it was, and no temporary file is left.
    p = run_modmap("attach", "--snapshot", snap, "--max-size", "16M", prof, "-o", prof,
                   check=False)
    assert p.returncode == 1 and prof.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["in.pb.gz", "snap.pb.gz"]


def test_bad_snapshot_is_named(snap, tmp_path):
    prof, bad = tmp_path / "p.pb", tmp_path / "bad.pb"
    prof.write_bytes(good_profile())
    bad.write_bytes(b"\x1a\x05\x08")
    p = run_modmap("attach", "--snapshot", bad, prof, "-o", tmp_path / "o", check=False)
    assert p.returncode == 1
    assert p.stderr == f"modmap: {bad}: not a valid pprof profile: length past the end (at byte 0)\n".encode()
    assert not (tmp_path / "o").exists()


def test_output_into_missing_directory(snap, tmp_path):
    prof = tmp_path / "p.pb"
    prof.write_bytes(good_profile())
    out = tmp_path / "no" / "such" / "dir.pb.gz"
    p = run_modmap("attach", "--snapshot", snap, prof, "-o", out, check=False)
    assert p.returncode == 1
    assert p.stderr == f"modmap: {out}: No such file or directory\n".encode()
    assert not out.parent.exists() and prof.read_bytes() == good_profile()


def test_missing_inputs(snap, tmp_path):
    p = run_modmap("attach", "--snapshot", snap, tmp_path / "nope", "-o", tmp_path / "o",
                   check=False)
    assert (p.returncode, p.stderr) == (1, f"modmap: {tmp_path / 'nope'}: No such file or directory\n".encode())
    prof = tmp_path / "p.pb"
    prof.write_bytes(good_profile())
    p = run_modmap("attach", "--pid", "999999999", prof, "-o", tmp_path / "o", check=False)
    assert p.returncode == 1 and b"pid 999999999" in p.stderr
    assert not (tmp_path / "o").exists()


def test_hand_made_profile(snap, tmp_path):
    prof, out = tmp_path / "p.pb", tmp_path / "o.pb.gz"
    prof.write_bytes(good_profile())
    p = run_modmap("attach", "--snapshot", snap, prof, "-o", out)
    assert summary(p) == (1, str(snap), 1, 1)
    fs = fields(gzip.decompress(out.read_bytes()))
    assert [f[0] for f in fs] == [3, 4, 6, 6, 6, 6]
    assert [f[1] for f in fs if f[0] == 6] == [b"", b"samples", b"/bin/x", b"ab"]


@pytest.mark.parametrize("args, why", [
    ([], b"give one of --pid PID or --snapshot FILE"),
    (["--pid", "1", "--snapshot", "x", "p"], b"give one of"),
    (["--pid", "1"], b"no PROFILE given"),
    (["--pid", "1", "a", "b"], b"one PROFILE only"),
    (["--pid", "1", "--max-size", "12X", "p"], b"invalid size '12X'"),
    (["--pid", "1", "--bogus", "p"], b"unknown argument '--bogus'"),
])
def test_usage_errors(args, why):
    p = run_modmap("attach", *args, check=False)
    assert p.returncode == 2 and why in p.stderr, p.stderr


def test_refuses_terminal(snap, tmp_path):
    import pty
    prof = tmp_path / "p.pb"
    prof.write_bytes(good_profile())
    master, slave = pty.openpty()
    try:
        p = subprocess.run([str(MODMAP), "attach", "--snapshot", str(snap), str(prof)],
                           stdout=slave, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 1 and b"use -o FILE" in p.stderr
