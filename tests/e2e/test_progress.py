"""Progress of long work (SPEC "Packaging and first contact").

The library's side: build/fixtures/progressprobe (include/modmap.h only)
prints every progress call of modmap_attach, a collector and a
symbolizer, and its counts are checked against the files themselves
(their sizes, os.stat), /proc/PID/maps and readelf's build IDs.
"""
import os
import re
import subprocess

import pytest

from conftest import FIXTURES, needs, proc_maps, run_modmap

PROBE = FIXTURES / "progressprobe"
WINDOW = 256 * 1024     # attach reads the profile in windows of this size


def probe(*args, input=None):
    p = subprocess.run([str(PROBE), *map(str, args)], capture_output=True, input=input,
                       timeout=120)
    out = p.stdout.decode(errors="surrogateescape")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert "unexpected stage" not in out and "short progress" not in out, out
    return out.splitlines()


def calls(lines, stage):
    return [l.split(" ", 2)[2] for l in lines if l.startswith(f"progress {stage} ")]


# ---- attach: the profile's bytes, pass 1 then pass 2 --------------------------

def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _field(number, payload):
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def large_profile(samples):
    """A raw pprof profile of many samples (distinct values, so that it
    does not shrink to nothing under gzip) over one location."""
    sample = [_field(2, _field(1, _varint(1)) + _field(2, _varint(i * 7919 % 1000003)))
              for i in range(samples)]
    loc = _field(4, _varint(1 << 3 | 0) + _varint(1) + _varint(3 << 3 | 0) + _varint(0x1100))
    strings = b"".join(_field(6, s) for s in (b"", b"samples", b"count"))
    return _field(1, _varint(1 << 3) + _varint(1) + _varint(2 << 3) + _varint(2)) + \
        b"".join(sample) + loc + strings


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    d = tmp_path_factory.mktemp("progress")
    raw = large_profile(200_000)
    assert len(raw) > 6 * WINDOW
    (d / "big.pb").write_bytes(raw)
    run_modmap("--self", "-f", "pprof", "-o", d / "snap.pb.gz")
    return d


def attach_calls(lines):
    return [tuple(int(x) for x in c.split()) for c in calls(lines, "attach")]


def test_attach_tells_each_pass_its_bytes_of_the_file(profile, tmp_path):
    size = os.stat(profile / "big.pb").st_size
    lines = probe("attach", profile / "snap.pb.gz", profile / "big.pb", tmp_path / "out.pb.gz")
    got = attach_calls(lines)
    one = [c for c in got if c[0] == 1]
    two = [c for c in got if c[0] == 2]
    assert got == one + two, "pass 2 only after pass 1"
    windows = size // WINDOW
    for p in (one, two):
        assert all(c[1] == 2 for c in p)
        assert all(c[3] == size for c in p), "a file's size is known from the start"
        dones = [c[2] for c in p]
        assert dones == sorted(dones) and dones[-1] == size
        # Once a window of the file, and once at the end of the pass.
        assert windows <= len(p) <= windows + 1, (len(p), windows)
        assert windows >= 6
    assert lines[-1] == "attached 1"


def test_attach_from_a_pipe_knows_its_size_only_in_pass_2(profile, tmp_path):
    data = (profile / "big.pb").read_bytes()
    lines = probe("attach", profile / "snap.pb.gz", "-", tmp_path / "out.pb.gz", input=data)
    got = attach_calls(lines)
    assert [c[3] for c in got if c[0] == 1] == [0] * len([c for c in got if c[0] == 1])
    assert {c[3] for c in got if c[0] == 2} == {len(data)}
    assert [c[2] for c in got if c[0] == 1][-1] == len(data)
    assert [c[2] for c in got if c[0] == 2][-1] == len(data)


# ---- collect: files of the snapshot, and the collector's counts ---------------

def gnu_build_id(path):
    p = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, timeout=60)
    m = re.search(r"Build ID: ([0-9a-f]+)", p.stdout)
    return m and m[1]


def test_collect_counts_each_file_and_ends_at_the_stats(sleeper, tmp_path):
    # The oracle: executable mappings of files with a GNU build ID, as the
    # kernel lists them and readelf reads them.
    want = [m["name"] for m in proc_maps(sleeper.pid)
            if "x" in m["perms"] and m["name"].startswith("/") and gnu_build_id(m["name"])]
    assert len(want) >= 2
    lines = probe("collect", sleeper.pid, tmp_path / "store")
    got = [c.split(" ", 6) for c in calls(lines, "collect")]
    assert [c[6] for c in got] == want
    assert [int(c[0]) for c in got] == list(range(1, len(want) + 1))
    assert {int(c[1]) for c in got} == {len(want)}
    stats = lines[-1].split()
    assert stats[0] == "stats" and got[-1][2:6] == stats[1:5]
    # All copied, each file's bytes: what the files hold.
    assert int(stats[1]) == len(want)
    assert int(stats[2]) == sum(os.stat(f).st_size for f in want)
    # Again into the same store: each one present, none copied.
    again = [c.split(" ", 6) for c in calls(probe("collect", sleeper.pid, tmp_path / "store"),
                                           "collect")]
    assert [c[2:6] for c in again][-1] == ["0", "0", str(len(want)), "0"]


# ---- symbolize: each module once, as it is opened ------------------------------

@needs("symbolize")
def test_symbolizer_tells_each_module_once(sleeper):
    code = [m for m in proc_maps(sleeper.pid) if "x" in m["perms"] and m["name"].startswith("/")]
    libc = next(m for m in code if "/libc" in m["name"])
    exe = next(m for m in code if m["name"] == os.path.realpath("/proc/%d/exe" % sleeper.pid))
    addrs = [libc["start"] + 0x100, exe["start"] + 0x10, libc["start"] + 0x200]
    lines = probe("symbolize", sleeper.pid, *(f"{a:x}" for a in addrs))
    got = [c.split(" ", 2) for c in calls(lines, "symbolize")]
    assert got == [["1", "0", libc["name"]], ["2", "0", exe["name"]]]
    assert len([l for l in lines if l.startswith("frames ")]) == 3
