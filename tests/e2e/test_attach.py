"""modmap attach: real Go profiles given the module map of their process.

build/fixtures/goprof is a Go program that writes its own CPU profile with
runtime/pprof and keeps running; build/fixtures/pprofedit edits and dumps
profiles with google/pprof's profile package (the parser `go tool pprof`
uses), so every result here is also checked by pprof's own reader.
"""
import gzip
import os
import random
import re
import shutil
import subprocess
import tempfile
import zlib

import cbor2
import pytest

from conftest import FIXTURES, MODMAP, cbor_whole, dump, go_parse, needs, pprofedit, run_modmap

# goprof, pprofedit and pprofcheck are Go programs.
pytestmark = needs("go")

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

@pytest.fixture(params=["goprof", "goprof-pie"])
def goproc(request, spawn, tmp_path):
    """A running Go program (static at a fixed address, or PIE at a random
    one with the dynamic loader) and the CPU and heap profiles it wrote of
    itself."""
    proc = spawn([FIXTURES / request.param, tmp_path / "cpu.pb.gz", tmp_path / "heap.pb.gz"])
    assert proc.ready == f"ready {proc.pid}"
    proc.exe = FIXTURES / request.param
    proc.profile, proc.heap = tmp_path / "cpu.pb.gz", tmp_path / "heap.pb.gz"
    return proc


def same_mapping(want, got, address):
    """got is the module want was: same file, build ID if want had one."""
    assert got is not None, f"location at {address:#x} lost its mapping"
    assert got["File"] == want["File"]
    if want["BuildID"]:
        assert got["BuildID"] == want["BuildID"]
    assert got["Start"] <= address < got["Limit"]


def check_mapped_as(original, attached):
    """Every location of attached maps to the module it did in original."""
    want = {loc["ID"]: loc for loc in original["Locations"]}
    assert len(attached["Locations"]) == len(want)
    for loc in attached["Locations"]:
        orig = want[loc["ID"]]
        assert loc["Address"] == orig["Address"]
        assert loc["Lines"] == orig["Lines"]
        same_mapping(orig["Mapping"], loc["Mapping"], loc["Address"])


def check_pprof_reads(path, exe, function=b"crypto/sha256"):
    raw = subprocess.run(["go", "tool", "pprof", "-raw", str(path)],
                         capture_output=True, timeout=120)
    assert raw.returncode == 0, raw.stderr.decode()
    maps = raw.stdout.split(b"Mappings\n", 1)[1]
    assert str(exe).encode() in maps.splitlines()[0]
    top = subprocess.run(["go", "tool", "pprof", "-top", str(path)],
                         capture_output=True, timeout=120)
    assert top.returncode == 0, top.stderr.decode()
    assert function in top.stdout


def summary(p):
    m = SUMMARY.search(p.stderr)
    assert m, p.stderr
    assert p.stderr.count(b"\n") == 1
    return int(m[1]), m[2].decode(), int(m[3]), int(m[4])


def one_mapping_table():
    """A snapshot of one mapping, [0x1000, 0x2000) of /bin/x with build ID
    "ab", encoded by hand: for checking attach's output field by field."""
    body = pb_uint(1, 1) + pb_uint(2, 0x1000) + pb_uint(3, 0x2000) + \
        pb_uint(5, 1) + pb_uint(6, 2)
    return gzip.compress(pb_bytes(3, body) + pb_bytes(6, b"") + pb_bytes(6, b"/bin/x") +
                         pb_bytes(6, b"ab"))


# ---- real Go profiles --------------------------------------------------------

@pytest.mark.parametrize("kind", ["cpu", "heap"])
def test_attach_pid_to_stripped_profile(goproc, tmp_path, kind):
    prof = goproc.profile if kind == "cpu" else goproc.heap
    stripped, out = tmp_path / "stripped.pb.gz", tmp_path / "out.pb.gz"
    pprofedit("strip", prof, stripped)
    assert dump(stripped)["Mappings"] is None

    p = run_modmap("attach", "--pid", goproc.pid, stripped, "-o", out)
    original, attached = dump(prof), dump(out)
    check_mapped_as(original, attached)
    assert attached["Mappings"][0]["File"] == str(goproc.exe)
    nmaps, source, mapped, total = summary(p)
    assert (nmaps, source) == (len(attached["Mappings"]), f"pid {goproc.pid}")
    assert mapped == total == len(original["Locations"]) > 0
    check_pprof_reads(out, goproc.exe, b"crypto/sha256" if kind == "cpu" else b"main.work")


def test_attach_replaces_fake_mapping(goproc, tmp_path):
    """Go before 1.20 on Windows wrote one fake mapping: it is dropped, and
    its has_functions carries over to the modules its locations are in."""
    fake, out = tmp_path / "fake.pb.gz", tmp_path / "out.pb.gz"
    pprofedit("fake", goproc.profile, fake)
    run_modmap("attach", "--pid", goproc.pid, fake, "-o", out)
    original, attached = dump(goproc.profile), dump(out)
    check_mapped_as(original, attached)
    assert all(m["File"] for m in attached["Mappings"])
    assert attached["Mappings"][0]["HasFunctions"]


def test_attach_saved_snapshot_after_exit(goproc, tmp_path):
    """`modmap --format pprof` while the process runs, attach once it is gone."""
    stripped, snap, out = (tmp_path / n for n in ("s.pb.gz", "snap.pb.gz", "out.pb.gz"))
    run_modmap("--pid", goproc.pid, "--format", "pprof", "-o", snap)
    goproc.stop()
    pprofedit("strip", goproc.profile, stripped)

    p = run_modmap("attach", "--snapshot", snap, stripped, "-o", out)
    attached = dump(out)
    check_mapped_as(dump(goproc.profile), attached)
    assert attached["Mappings"] == dump(snap)["Mappings"]
    assert summary(p)[:2] == (len(attached["Mappings"]), str(snap))
    check_pprof_reads(out, goproc.exe)


def test_attach_snapshot_of_go_table(goproc, tmp_path):
    """A snapshot that is another profile's mapping table, raw protobuf."""
    stripped, table, out = (tmp_path / n for n in ("s.pb.gz", "t.pb.gz", "out.pb.gz"))
    pprofedit("table", goproc.profile, table)
    pprofedit("strip", goproc.profile, stripped)
    raw = tmp_path / "t.pb"
    raw.write_bytes(gzip.decompress(table.read_bytes()))
    run_modmap("attach", "-s", raw, stripped, "-o", out)
    check_mapped_as(dump(goproc.profile), dump(out))


@pytest.mark.parametrize("shape", ["as written", "array of one", "untagged"])
def test_attach_cbor_snapshot(goproc, tmp_path, shape):
    """`modmap --format cbor` while the process runs, attach once it is
    gone: as written (one object under the self-describe tag), as written
    for several --pid when only one could be read (an array of one), and
    the same document from another encoder (cbor2, without the tag)."""
    stripped, snap, out = (tmp_path / n for n in ("s.pb.gz", "snap.cbor", "out.pb.gz"))
    if shape == "array of one":
        p = run_modmap("--pid", goproc.pid, "--pid", 999999999, "--format", "cbor",
                       "-o", snap, check=False)
        assert p.returncode == 1 and b"pid 999999999" in p.stderr
    else:
        run_modmap("--pid", goproc.pid, "--format", "cbor", "-o", snap)
    data = snap.read_bytes()
    assert data[:3] == b"\xd9\xd9\xf7"
    doc = cbor_whole(data)
    if shape == "array of one":
        assert isinstance(doc, list) and len(doc) == 1
    if shape == "untagged":
        snap.write_bytes(cbor2.dumps(doc))
    goproc.stop()
    pprofedit("strip", goproc.profile, stripped)
    p = run_modmap("attach", "--snapshot", snap, stripped, "-o", out)
    check_mapped_as(dump(goproc.profile), dump(out))
    assert dump(out)["Mappings"][0]["File"] == str(goproc.exe)
    assert summary(p)[1] == str(snap)


def test_round_trip_own_table(goproc, tmp_path):
    """Attaching a profile's own mapping table changes nothing but the
    strings appended for it and the mapping messages that name them."""
    out = tmp_path / "out.pb.gz"
    run_modmap("attach", "--snapshot", goproc.profile, goproc.profile, "-o", out)
    a = fields(gzip.decompress(goproc.profile.read_bytes()))
    b = fields(gzip.decompress(out.read_bytes()))

    def without(fs, *numbers):
        return [f[2] for f in fs if f[0] not in numbers]

    assert without(a, 3, 6) == without(b, 3, 6)      # locations included
    sa, sb = [f[1] for f in a if f[0] == 6], [f[1] for f in b if f[0] == 6]
    assert sb[:len(sa)] == sa

    def table(fs, strings):
        rows = []
        for f in fs:
            if f[0] == 3:
                m = {n: v for n, v, _ in fields(f[1])}
                rows.append((m.get(1), m.get(2), m.get(3), m.get(4),
                             strings[m.get(5, 0)], strings[m.get(6, 0)]))
        return rows

    assert table(a, sa) == table(b, sb)


def test_output_over_input_and_stdin_stdout(goproc, tmp_path):
    prof = tmp_path / "p.pb.gz"
    pprofedit("strip", goproc.profile, prof)
    before = dump(prof)
    run_modmap("attach", "--pid", goproc.pid, prof, "-o", prof)
    check_mapped_as(dump(goproc.profile), dump(prof))
    assert before["Locations"] and not before["Mappings"]
    assert [f for f in os.listdir(tmp_path) if ".tmp" in f] == []

    stripped = tmp_path / "s.pb.gz"
    pprofedit("strip", goproc.profile, stripped)
    raw = gzip.decompress(stripped.read_bytes())
    p = run_modmap("attach", "--pid", goproc.pid, "-", input=raw)
    piped = tmp_path / "piped.pb.gz"
    piped.write_bytes(p.stdout)
    check_mapped_as(dump(goproc.profile), dump(piped))


# ---- errors ------------------------------------------------------------------

@pytest.fixture
def snap(tmp_path):
    """A valid snapshot (modmap's own map), so the errors below are the
    profile's."""
    path = tmp_path / "snap.pb.gz"
    run_modmap("--self", "--format", "pprof", "-o", path)
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
    "gzip bomb": (bomb(64 << 20), b"exceeds the limit (16777216 bytes); a larger --max-size allows more"),
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

    # To standard output, from a file or a pipe: bad input writes nothing
    # (attach --help says so).
    for args, stdin in (([prof], None), (["-"], data)):
        p = run_modmap("attach", "--snapshot", snap, "--max-size", "16M", *args,
                       input=stdin, check=False)
        assert (p.returncode, p.stdout) == (1, b"")


def test_bad_snapshot_is_named(snap, tmp_path):
    prof, bad = tmp_path / "p.pb", tmp_path / "bad.pb"
    prof.write_bytes(good_profile())
    bad.write_bytes(b"\x1a\x05\x08")
    p = run_modmap("attach", "--snapshot", bad, prof, "-o", tmp_path / "o", check=False)
    assert p.returncode == 1
    assert p.stderr == f"modmap: {bad}: not a valid pprof profile: length past the end (at byte 0)\n".encode()
    assert not (tmp_path / "o").exists()


GOOD_MAPPING = {"start": 0x1000, "limit": 0x2000, "offset": 0, "file": "/bin/x"}
BAD_CBOR = {
    "truncated": (cbor2.dumps({"mappings": [GOOD_MAPPING], "pid": 1})[:-1],
                  "not a valid CBOR document (truncated"),
    "string past the end": (cbor2.dumps({"mappings": [GOOD_MAPPING]})[:-3],
                            "not a valid CBOR document (a length past the end"),
    "trailing bytes": (cbor2.dumps({"mappings": []}) + b"\0", "trailing bytes"),
    "count past the end": (b"\xa1\x68mappings\x9a\x15\x03\x00\x22\xa0",
                           "a length past the end at byte 10"),
    "two processes": (cbor2.dumps([{"mappings": []}, {"mappings": []}]),
                      "a CBOR snapshot of 2 processes; attach needs one"),
    "no mappings": (cbor2.dumps({"pid": 1}), 'no "mappings" array'),
    "no start": (cbor2.dumps({"mappings": [{"limit": 1, "offset": 0}]}),
                 'mapping 1: "start" is missing'),
    "hex string address": (cbor2.dumps({"mappings": [dict(GOOD_MAPPING, limit="0x2000")]}),
                           'mapping 1: "limit" is not an unsigned integer'),
    "file not a string": (cbor2.dumps({"mappings": [dict(GOOD_MAPPING, file=7)]}),
                          'mapping 1: "file" is not a string'),
    "file with a NUL": (cbor2.dumps({"mappings": [dict(GOOD_MAPPING, file=b"/x\0/y")]}),
                        'mapping 1: "file" holds a NUL byte'),
    "indefinite text": (b"\xa1\x68mappings\x81\xa4\x65start\x01\x65limit\x02\x66offset\x00"
                        b"\x64file\x7f\x61a\xff", 'mapping 1: "file" is not a string'),
}


@pytest.mark.parametrize("name", BAD_CBOR)
def test_bad_cbor_snapshot(name, tmp_path):
    data, why = BAD_CBOR[name]
    prof, bad = tmp_path / "p.pb", tmp_path / "bad.cbor"
    prof.write_bytes(good_profile())
    bad.write_bytes(data)
    p = run_modmap("attach", "--snapshot", bad, prof, "-o", prof, check=False)
    assert p.returncode == 1
    assert p.stderr.startswith(f"modmap: {bad}: ".encode()) and why.encode() in p.stderr, p.stderr
    assert prof.read_bytes() == good_profile()


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


def test_hand_made_profile(tmp_path):
    prof, out, snap = tmp_path / "p.pb", tmp_path / "o.pb.gz", tmp_path / "snap.pb.gz"
    prof.write_bytes(good_profile())
    snap.write_bytes(one_mapping_table())
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
    # Two lines: what is wrong, and where attach's own help is.
    lines = p.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(b"modmap: attach: ")
    assert lines[1] == b"Try 'modmap attach --help'."
    assert p.stdout == b""


@pytest.mark.parametrize("args, why", [
    (["--pid", "1", "--pid", "2", "p"], b"--pid given twice"),
    (["-p", "1", "--pid=1", "p"], b"--pid given twice"),
    (["--snapshot", "a", "--snapshot", "b", "p"], b"--snapshot given twice"),
    (["-s", "a", "--snapshot=a", "p"], b"--snapshot given twice"),
    (["--snapshot", "-", "-"], b"cannot both be standard input"),
])
def test_repeated_source_is_a_usage_error(args, why):
    """attach reads one process or one snapshot: a second is not silently
    preferred over the first."""
    p = run_modmap("attach", *args, check=False)
    assert p.returncode == 2 and why in p.stderr, p.stderr


@pytest.mark.parametrize("where", [0, 2, -1])
def test_help_anywhere_on_the_line(where):
    args = ["--pid", "1", "p"]
    args.insert(where if where >= 0 else len(args), "--help")
    p = run_modmap("attach", *args)
    assert p.stdout.startswith(b"usage: modmap attach ") and p.stderr == b""


def test_output_over_a_longer_file(snap, tmp_path):
    """-o over a longer existing file: replaced whole (a new inode), no old
    tail after the gzip stream."""
    prof, out = tmp_path / "p.pb", tmp_path / "o.pb.gz"
    prof.write_bytes(good_profile())
    out.write_bytes(b"x" * (1 << 20))
    inode = out.stat().st_ino
    run_modmap("attach", "--snapshot", snap, prof, "-o", out)
    data = out.read_bytes()
    assert len(data) < 1 << 20 and out.stat().st_ino != inode
    z = zlib.decompressobj(31)
    z.decompress(data)
    assert z.eof and z.unused_data == b"", "bytes after the gzip stream"


def test_snapshot_without_mappings_is_refused(tmp_path):
    """A snapshot that holds no mappings would attach nothing: exit 1, said
    so, no output file."""
    snap, prof, out = tmp_path / "empty.pb.gz", tmp_path / "p.pb", tmp_path / "o.pb.gz"
    snap.write_bytes(gzip.compress(pb_bytes(6, b"")))
    prof.write_bytes(good_profile())
    p = run_modmap("attach", "--snapshot", snap, prof, "-o", out, check=False)
    assert p.returncode == 1
    assert p.stderr.decode().splitlines() == [f"modmap: {snap}: the snapshot holds no mappings"]
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["empty.pb.gz", "p.pb"]


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
    assert p.returncode == 2 and b"use -o FILE" in p.stderr


@pytest.mark.parametrize("fmt", ["pprof", "cbor"])
def test_snapshot_of_non_utf8_path(spawn, tmp_path, pprofcheck, fmt):
    """A Linux path need not be UTF-8: --format cbor writes such a name as a
    byte string, --format pprof as raw bytes, and attach takes either as
    the file name, byte for byte."""
    exe = os.path.join(os.fsencode(tmp_path), b"go\xffpr\x80of")
    shutil.copy(FIXTURES / "goprof", exe)
    cpu, stripped, snap, out = (tmp_path / n for n in ("cpu.pb.gz", "s.pb.gz", "snap", "o.pb.gz"))
    proc = spawn([os.fsdecode(exe), cpu])
    assert proc.ready == f"ready {proc.pid}"
    run_modmap("--pid", proc.pid, "--format", fmt, "-o", snap)
    if fmt == "cbor":
        assert cbor_whole(snap.read_bytes())["exe"] == exe
    proc.stop()
    pprofedit("strip", cpu, stripped)
    run_modmap("attach", "--snapshot", snap, stripped, "-o", out)
    check_mapped_as(dump(cpu), dump(out))
    r = go_parse(pprofcheck, out)
    assert r["Valid"] == "" and r["Mappings"][0]["File"] == exe


# ---- large profiles: memory does not grow with the samples -------------------

BIG_SAMPLES = 4_000_000
# Four locations at addresses of one_mapping_table()'s [0x1000, 0x2000).
BIG_LOCATIONS = [pb_bytes(4, pb_uint(1, i + 1) + pb_uint(3, 0x1100 + 0x100 * i)) for i in range(4)]
BIG_STRINGS = [pb_bytes(6, s) for s in (b"", b"samples", b"count")]


def big_profile():
    """A profile of BIG_SAMPLES samples over four locations, written by hand
    as Go's runtime/pprof orders it (samples before locations). Returns the
    protobuf bytes before the locations, and the whole."""
    samples = []
    for i in range(1000):
        stack = _enc(1 + i % 4) + _enc(1 + (i // 4) % 4)
        samples.append(pb_bytes(2, pb_bytes(1, stack) + pb_bytes(2, _enc(i + 1))))
    head = pb_bytes(1, pb_uint(1, 1) + pb_uint(2, 2)) + b"".join(samples) * (BIG_SAMPLES // 1000)
    return head, head + b"".join(BIG_LOCATIONS + BIG_STRINGS)


def peak_rss(args, **kw):
    """Runs modmap under GNU time; returns the CompletedProcess and its peak
    resident set size in bytes."""
    with tempfile.NamedTemporaryFile() as f:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, str(MODMAP),
                            *map(str, args)], capture_output=True, timeout=300, **kw)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        return p, int(f.read().split()[-1]) * 1024


def check_big_result(out, head):
    """The samples are copied as they were; the mapping table goes before
    the first location; each location gets mapping 1; two strings follow."""
    data = gzip.decompress(out)
    assert data[:len(head)] == head
    fs = fields(data[len(head):])
    assert [f[0] for f in fs] == [3, 4, 4, 4, 4, 6, 6, 6, 6, 6]
    assert [dict((n, v) for n, v, _ in fields(f[1]))[2] for f in fs if f[0] == 4] == [1] * 4
    assert [f[1] for f in fs if f[0] == 6] == [b"", b"samples", b"count", b"/bin/x", b"ab"]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    head, raw = big_profile()
    (d / "big.pb.gz").write_bytes(gzip.compress(raw, 1))
    (d / "snap.pb.gz").write_bytes(one_mapping_table())
    return d, head, raw


@needs("uninstrumented")
def test_memory_does_not_grow_with_samples(big, tmp_path):
    """4M samples, 40 MB of protobuf: attach's peak memory stays far below
    the size of the profile (it held all of it, and its copy, before)."""
    d, head, raw = big
    out = tmp_path / "out.pb.gz"
    p, rss = peak_rss(["attach", "--snapshot", d / "snap.pb.gz", d / "big.pb.gz", "-o", out])
    assert summary(p) == (1, str(d / "snap.pb.gz"), 4, 4)
    assert rss < len(raw) // 4 and rss < 16 << 20, f"peak RSS {rss} for {len(raw)} bytes"
    check_big_result(out.read_bytes(), head)
    # Over itself too, with nothing left beside it.
    prof = tmp_path / "p.pb.gz"
    shutil.copy(d / "big.pb.gz", prof)
    run_modmap("attach", "--snapshot", d / "snap.pb.gz", prof, "-o", prof)
    assert prof.read_bytes() == out.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["out.pb.gz", "p.pb.gz"]


@pytest.mark.parametrize("form", ["raw", "gzip"])
@needs("uninstrumented")
def test_large_profile_from_a_pipe(big, tmp_path, form):
    """Standard input that is a pipe cannot be read twice: it is kept in a
    temporary file, not in memory, and the result is the same as from the
    file."""
    d, head, raw = big
    data = raw if form == "raw" else (d / "big.pb.gz").read_bytes()
    p, rss = peak_rss(["attach", "--snapshot", d / "snap.pb.gz", "-"], input=data)
    assert summary(p)[2:] == (4, 4)
    assert rss < len(raw) // 4 and rss < 16 << 20, f"peak RSS {rss} for {len(raw)} bytes"
    check_big_result(p.stdout, head)
    ref = run_modmap("attach", "--snapshot", d / "snap.pb.gz", d / "big.pb.gz").stdout
    assert p.stdout == ref


def test_hostile_many_empty_mappings_are_bounded(snap, tmp_path):
    """Two-byte empty mappings cost attach ~130 bytes each to hold: past a
    million it refuses, with a bounded peak, instead of growing with them."""
    prof = tmp_path / "many.pb.gz"
    prof.write_bytes(gzip.compress(pb_bytes(3, b"") * ((1 << 20) + 1), 1))
    before = prof.read_bytes()
    with tempfile.NamedTemporaryFile() as f:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, str(MODMAP), "attach",
                            "--snapshot", str(snap), str(prof), "-o", str(tmp_path / "o")],
                           capture_output=True, timeout=300)
        rss = int(f.read().split()[-1]) * 1024
    assert p.returncode == 1
    assert p.stderr.decode().splitlines() == [
        f"modmap: {prof}: not a valid pprof profile: mapping 1048577: too many mappings "
        "(attach takes at most 1048576) (field at byte 2097152)"]
    assert rss < 400 << 20, rss
    assert prof.read_bytes() == before and not (tmp_path / "o").exists()


def test_stdin_already_read_from(snap, tmp_path):
    """A script that read a line of standard input before attach: attach
    reads the rest, twice, not from byte 0."""
    prof = tmp_path / "p.pb"
    prof.write_bytes(b"# header line\n" + good_profile())
    p = subprocess.run(["sh", "-c", f'read -r line; exec "{MODMAP}" attach --snapshot "{snap}" -'],
                       stdin=open(prof, "rb"), capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert gzip.decompress(p.stdout).count(b"samples") == 1


def test_endless_garbage_on_a_pipe_is_refused_at_once(snap):
    """Raw bytes that are no profile are refused at the first bad field: an
    endless pipe of them is neither read to --max-size nor spooled to disk."""
    feeder = subprocess.Popen(["sh", "-c", "while :; do head -c 1048576 /dev/zero; done"],
                              stdout=subprocess.PIPE)
    try:
        p = subprocess.run([str(MODMAP), "attach", "--snapshot", str(snap), "-"],
                           stdin=feeder.stdout, capture_output=True, timeout=60)
    finally:
        feeder.kill()
        feeder.wait()
    assert p.returncode == 1
    assert p.stderr.decode().startswith("modmap: standard input: not a valid pprof profile")


# ---- address boundaries: start, limit - 1, limit, between mappings ---------

def decoded(out):
    """attach's output decoded here (not by modmap): {mapping id: (start,
    limit, file)} and {location address: mapping id}."""
    fs = fields(gzip.decompress(out))
    strings = [v for n, v, _ in fs if n == 6]
    maps, locs = {}, {}
    for n, v, _ in fs:
        if n == 3:
            m = {k: x for k, x, _ in fields(v)}
            maps[m[1]] = (m.get(2, 0), m.get(3, 0), strings[m.get(5, 0)])
        elif n == 4:
            loc = {k: x for k, x, _ in fields(v)}
            locs[loc.get(3, 0)] = loc.get(2, 0)
    return maps, locs


def profile_at(addresses):
    """A profile without mappings whose locations sit at these addresses."""
    locs = b"".join(pb_bytes(4, pb_uint(1, i + 1) + pb_uint(3, a))
                    for i, a in enumerate(addresses))
    return locs + pb_bytes(6, b"") + pb_bytes(6, b"samples")


def two_mapping_table():
    """[0x10000, 0x20000) /bin/x and [0x30000, 0x40000) /bin/y, by hand."""
    def m(i, start, limit, name):
        return pb_bytes(3, pb_uint(1, i) + pb_uint(2, start) + pb_uint(3, limit) +
                        pb_uint(5, name))
    return gzip.compress(m(1, 0x10000, 0x20000, 1) + m(2, 0x30000, 0x40000, 2) +
                         pb_bytes(6, b"") + pb_bytes(6, b"/bin/x") + pb_bytes(6, b"/bin/y"))


def test_address_boundaries(tmp_path):
    """A location at a mapping's start or limit - 1 is inside it; one at its
    limit, between two mappings, or before the first is in none."""
    want = {0xffff: None, 0x10000: b"/bin/x", 0x1ffff: b"/bin/x", 0x20000: None,
            0x28000: None, 0x2ffff: None, 0x30000: b"/bin/y", 0x3ffff: b"/bin/y",
            0x40000: None}
    snap, prof, out = tmp_path / "snap.pb.gz", tmp_path / "p.pb", tmp_path / "o.pb.gz"
    snap.write_bytes(two_mapping_table())
    prof.write_bytes(profile_at(list(want)))
    p = run_modmap("attach", "--snapshot", snap, prof, "-o", out)
    assert summary(p) == (2, str(snap), 4, len(want))
    maps, locs = decoded(out.read_bytes())
    got = {a: maps[i][2] if i else None for a, i in locs.items()}
    assert got == want


def test_address_boundaries_of_a_live_process(sleeper, tmp_path):
    """The same against a real process: its executable mappings as the
    kernel lists them in /proc/PID/maps (parsed here, Go's rule: executable
    and named), each probed at start, limit - 1 and limit. At limit the
    process has its data (not in the table) or nothing."""
    from conftest import proc_maps
    maps = [m for m in proc_maps(sleeper.pid) if m["perms"][2] == "x" and m["name"]]
    assert maps
    starts = {m["start"] for m in maps}
    want = {}
    for m in maps:
        want[m["start"]] = want[m["limit"] - 1] = m
        if m["limit"] not in starts:
            want[m["limit"]] = None
    assert None in want.values()
    prof, out = tmp_path / "p.pb", tmp_path / "o.pb.gz"
    prof.write_bytes(profile_at(list(want)))
    run_modmap("attach", "--pid", sleeper.pid, prof, "-o", out)
    table, locs = decoded(out.read_bytes())
    for addr, m in want.items():
        i = locs[addr]
        if m is None:
            assert i == 0, f"{addr:#x} is past every mapping, yet got {table[i]}"
        else:
            assert table[i] == (m["start"], m["limit"], m["name"].encode()), hex(addr)


def test_mapping_flags_carry_over_as_google_pprof_reads_them(sleeper, tmp_path, pprofcheck):
    """has_functions, has_filenames, has_line_numbers, has_inline_frames of
    the old mappings whose locations move into a snapshot mapping: all of
    one old mapping's when only it sends locations there, the flags both
    set when two do; none where no location came. The profile is written
    here byte by byte (profile.proto), the result read by google/pprof's
    parser (pprofcheck)."""
    from conftest import proc_maps
    text = [m for m in proc_maps(sleeper.pid) if m["perms"][2] == "x" and m["name"]]
    exe = os.readlink(f"/proc/{sleeper.pid}/exe")
    main = next(m for m in text if m["name"] == exe)
    libc = next(m for m in text if re.search(r"/libc\.so\.6$", m["name"]))
    strings = [b"", b"samples", b"count", b"/old/a", b"/old/b"]

    def old_mapping(mid, start, name, flags):
        return pb_bytes(3, pb_uint(1, mid) + pb_uint(2, start) + pb_uint(3, start + 0x1000)
                        + pb_uint(5, name) + b"".join(pb_uint(7 + i, f)
                                                      for i, f in enumerate(flags)))
    locs = [(1, 1, libc["start"] + 0x10), (2, 2, libc["start"] + 0x20),
            (3, 1, main["start"] + 0x10)]
    prof = (pb_bytes(1, pb_uint(1, 1) + pb_uint(2, 2))
            + pb_bytes(2, pb_bytes(1, b"".join(_enc(i) for i, _, _ in locs))
                       + pb_bytes(2, _enc(1)))
            + old_mapping(1, 0x1000, 3, (1, 1, 1, 1))
            + old_mapping(2, 0x2000, 4, (1, 0, 1, 0))
            + b"".join(pb_bytes(4, pb_uint(1, i) + pb_uint(2, m) + pb_uint(3, a))
                       for i, m, a in locs)
            + b"".join(pb_bytes(6, s) for s in strings))
    src, out = tmp_path / "flags.pb", tmp_path / "flags-out.pb.gz"
    src.write_bytes(prof)
    run_modmap("attach", "--pid", sleeper.pid, src, "-o", out)
    r = go_parse(pprofcheck, out)
    keys = ("HasFunctions", "HasFilenames", "HasLineNumbers", "HasInlineFrames")
    flags = {m["File"].decode(): tuple(m[k] for k in keys) for m in r["Mappings"]}
    assert flags[exe] == (True, True, True, True), flags
    assert flags[libc["name"]] == (True, False, True, False), flags
    others = [f for name, f in flags.items() if name not in (exe, libc["name"])]
    assert others and all(f == (False,) * 4 for f in others), flags
