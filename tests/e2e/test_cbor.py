"""--format cbor, decoded with python3-cbor2 and compared with the kernel's
/proc/PID/maps parsed here, and (an extra check) with the JSON of the same
process, key for key and value for value; and the build without libcbor
(build/nocbor, `make CBOR=no`), which must say so."""
import json
import os
import re
import shutil
import subprocess

import cbor2
import pytest

from conftest import BUILD, cbor_whole, proc_maps, run_modmap, wait_asleep

NOCBOR = BUILD / "nocbor" / "modmap"
ADDR_KEYS = {"start", "limit", "offset"}
MISSING = "modmap: this build of modmap has no CBOR support (built without libcbor)\n"


def cbor_of(*args, tmp_path):
    out = tmp_path / "snap.cbor"
    run_modmap(*args, "--format", "cbor", "-o", out)
    data = out.read_bytes()
    assert data[:3] == b"\xd9\xd9\xf7", "no self-described CBOR tag"
    return cbor_whole(data)


def json_of(*args):
    return json.loads(run_modmap(*args, "--format", "json").stdout)


def from_json(key, value):
    """What CBOR must hold where JSON holds value: addresses as integers,
    and a string that is not UTF-8 (surrogateescape in JSON) as bytes."""
    if key in ADDR_KEYS:
        assert re.fullmatch(r"0x[0-9a-f]+", value)
        return int(value, 16)
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    return value


def assert_same_document(c, j, times_differ=True):
    """c (from CBOR) and j (from JSON) are the same document."""
    assert isinstance(c, dict)
    assert list(c) == list(j), "keys or their order differ"
    for key in j:
        if key == "mappings":
            assert len(c[key]) == len(j[key])
            for cm, jm in zip(c[key], j[key]):
                assert list(cm) == list(jm)
                for k in jm:
                    want = from_json(k, jm[k])
                    assert cm[k] == want and type(cm[k]) is type(want), (k, cm[k], want)
        elif key == "time" and times_differ:
            # Two runs, two capture times: both RFC 3339 UTC with nanoseconds.
            for t in (c[key], j[key]):
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", t)
        else:
            want = from_json(key, j[key])
            assert c[key] == want and type(c[key]) is type(want), (key, c[key], want)


@pytest.mark.parametrize("mappings", ["exec", "all"])
def test_cbor_against_proc_maps(sleeper, tmp_path, mappings):
    """Every field the kernel lists, with CBOR's types: addresses, offsets
    and inodes unsigned integers (the vsyscall page above 2^63 too)."""
    c = cbor_of("--pid", sleeper.pid, "--mappings", mappings, "--source", "maps",
                tmp_path=tmp_path)
    kernel = proc_maps(sleeper.pid)
    if mappings == "exec":
        kernel = [k for k in kernel if k["perms"][2] == "x" and k["name"]]
    assert c["pid"] == sleeper.pid and c["os"] == "linux"
    assert c["exe"] == os.readlink(f"/proc/{sleeper.pid}/exe")
    got = [(m["start"], m["limit"], m["offset"], m["perms"], m["file"]) for m in c["mappings"]]
    assert got == [(k["start"], k["limit"], k["offset"], k["perms"], k["name"]) for k in kernel]
    for m, k in zip(c["mappings"], kernel):
        for key in ("start", "limit", "offset"):
            assert type(m[key]) is int, (key, m[key])
        if k["inode"]:
            assert (m["dev"], m["inode"]) == (k["dev"], k["inode"])
    assert any(k["start"] >= 1 << 63 for k in kernel) == any(g[0] >= 1 << 63 for g in got)


@pytest.mark.parametrize("mappings", ["exec", "all"])
def test_cbor_equals_json(sleeper, tmp_path, mappings):
    j = json_of("--pid", sleeper.pid, "--mappings", mappings)
    c = cbor_of("--pid", sleeper.pid, "--mappings", mappings, tmp_path=tmp_path)
    assert_same_document(c, j)
    assert isinstance(c["pid"], int) and c["pid"] == sleeper.pid
    for m in c["mappings"]:
        assert all(isinstance(m[k], int) and m[k] >= 0 for k in ADDR_KEYS)
        if "inode" in m:
            assert isinstance(m["inode"], int)
    # The vsyscall page sits above 2^63: an unsigned integer, not negative.
    assert any(m["start"] >= 1 << 63 for m in c["mappings"]) == \
        any(m["file"] == "[vsyscall]" for m in c["mappings"])


def test_several_processes_are_an_array(spawn, sleeper, tmp_path):
    other = spawn(["sleep", "600"], ready_line=False)
    wait_asleep(other.pid)
    args = ["--pid", sleeper.pid, "--pid", other.pid]
    j = json_of(*args)
    c = cbor_of(*args, tmp_path=tmp_path)
    assert isinstance(c, list) and len(c) == 2
    for cd, jd in zip(c, j):
        assert_same_document(cd, jd)


def test_non_utf8_path_is_a_byte_string(spawn, tmp_path):
    exe = os.path.join(os.fsencode(tmp_path), b"sl\xffe\xc3(p")
    shutil.copy("/bin/sleep", exe)
    proc = spawn([os.fsdecode(exe), "600"], ready_line=False)
    # Settled, libc mapped: right after exec the loader is still at work,
    # and the two snapshots would see different module maps.
    wait_asleep(proc.pid)
    assert os.readlink(b"/proc/%d/exe" % proc.pid) == exe
    j = json_of("--pid", proc.pid)
    c = cbor_of("--pid", proc.pid, tmp_path=tmp_path)
    assert_same_document(c, j)
    assert c["exe"] == exe
    assert c["mappings"][0]["file"] == exe and c["mappings"][0]["main"]
    # UTF-8 names stay text strings.
    assert all(isinstance(m["file"], str) for m in c["mappings"][1:])


def test_self_document_matches(tmp_path):
    """Through --self too (one process: a map, not an array)."""
    c = cbor_of("--self", tmp_path=tmp_path)
    assert isinstance(c, dict) and c["os"] == "linux"
    assert c["mappings"] and any(m["main"] for m in c["mappings"])


def test_cbor_to_a_pipe(sleeper):
    """Standard output that is not a terminal gets the bytes."""
    p = run_modmap("--pid", sleeper.pid, "--format", "cbor")
    assert cbor_whole(p.stdout)["pid"] == sleeper.pid


# ---- the build without libcbor ------------------------------------------

def run_nocbor(*args):
    return subprocess.run([str(NOCBOR), *map(str, args)], capture_output=True,
                          timeout=120)


def test_build_without_libcbor_says_so(tmp_path):
    out = tmp_path / "snap.cbor"
    p = run_nocbor("--self", "--format", "cbor", "-o", out)
    assert (p.returncode, p.stderr.decode(), p.stdout) == (2, MISSING, b"")
    assert not out.exists()
    # Refused before reading: a PID that does not exist is not even tried.
    p = run_nocbor("--pid", "4194303", "--format", "cbor")
    assert (p.returncode, p.stderr.decode()) == (2, MISSING)


def test_build_without_libcbor_does_the_rest(sleeper, tmp_path):
    help_text = run_nocbor("--help").stdout.decode()
    assert "no CBOR support (built without libcbor)" in help_text
    p = run_nocbor("--pid", sleeper.pid, "--format", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["pid"] == sleeper.pid
    p = run_nocbor("--pid", sleeper.pid, "--format", "pprof", "-o", tmp_path / "p.pb.gz")
    assert p.returncode == 0
    assert "CBOR" not in run_modmap("--help").stdout.decode()
