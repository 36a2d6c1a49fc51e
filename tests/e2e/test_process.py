"""Processes in awkward states: a library at a path longer than PATH_MAX, a
leader that has exited while its threads run, a process that exits in the
middle of being read. Checked against /proc/PID/maps (of a live thread)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, MODMAP, modmap_json, proc_maps, run_modmap, needs, wait_zombie


def as_int(h):
    return int(h, 16)


def kernel_view(maps_path):
    """(start, limit, name) of each line of a maps file, names raw."""
    out = []
    with open(maps_path, "rb") as f:
        for line in f.read().splitlines():
            fields = line.split(None, 5)
            start, limit = (int(x, 16) for x in fields[0].split(b"-"))
            name = fields[5].decode("utf-8", "surrogateescape") if len(fields) > 5 else ""
            out.append((start, limit, name))
    return out


def readelf_build_id(path):
    import re
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


# ---- a path longer than PATH_MAX ------------------------------------------

@pytest.mark.parametrize("source", ["auto", "maps"])
def test_library_at_a_path_longer_than_path_max(spawn, tmp_path, source):
    """PROCMAP_QUERY cannot return a name past PATH_MAX (ENAMETOOLONG); the
    default source reads the text instead of failing the process."""
    lib = FIXTURES / "libfix.so"
    proc = spawn([FIXTURES / "longpath", tmp_path, lib])
    want = [l for l in kernel_view(f"/proc/{proc.pid}/maps") if l[2].endswith("/lib.so")]
    assert len(want) == 1 and len(want[0][2]) > 4096
    p = run_modmap("--pid", proc.pid, "--source", source, "--format", "json", check=False)
    assert p.returncode == 0, p.stderr
    got = [m for m in json.loads(p.stdout)["mappings"] if m["file"].endswith("/lib.so")]
    assert [(as_int(m["start"]), as_int(m["limit"]), m["file"]) for m in got] == want
    # root reads it through map_files
    assert got[0]["build_id"] == readelf_build_id(lib)
    # The same records as the text gives, the rest of the process included.
    text = modmap_json("--pid", proc.pid, "--source", "maps")["mappings"]
    assert json.loads(p.stdout)["mappings"] == text


# ---- a zombie leader --------------------------------------------------------

@pytest.mark.parametrize("source", ["auto", pytest.param("query", marks=needs("procmap_query")), "maps"])
def test_live_process_with_a_zombie_leader(spawn, source):
    proc = spawn([FIXTURES / "zombieleader"])
    pid, tid = (int(x) for x in proc.ready.split()[1:])
    wait_zombie(pid)
    assert kernel_view(f"/proc/{pid}/maps") == []   # the leader's view: nothing
    want = [l for l in kernel_view(f"/proc/{pid}/task/{tid}/maps")]
    p = run_modmap("--pid", pid, "--source", source, "--mappings", "all",
                   "--format", "json", check=False)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    got = [(as_int(m["start"]), as_int(m["limit"]), m["file"]) for m in doc["mappings"]]
    assert got == want
    exe = str(FIXTURES / "zombieleader")
    assert doc["exe"] == exe
    mains = [m for m in doc["mappings"] if m["file"] == exe]
    assert mains and all(m["build_id"] == readelf_build_id(exe) for m in mains)


def test_zombie_without_threads_is_still_exited(spawn):
    """A plain zombie (its parent has not reaped it) stays "exited"."""
    p = subprocess.Popen(["true"])
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with open(f"/proc/{p.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        r = run_modmap("--pid", p.pid, check=False)
        assert r.returncode == 1
        assert r.stderr.decode().strip() == f"modmap: pid {p.pid}: process has exited (zombie)"
    finally:
        p.wait()


# ---- exiting in the middle of the read -------------------------------------

MANY = """
import mmap, os, sys, time
keep = [mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE,
                  prot=mmap.PROT_READ | (mmap.PROT_WRITE if i % 2 else 0))
        for i in range(3000)]
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


@pytest.mark.parametrize("source", ["maps", pytest.param("query", marks=needs("procmap_query"))])
def test_process_exiting_mid_read_is_exited_not_partial(spawn, tmp_path, source):
    """killshim kills the target between two reads of its maps (past the
    first 128 KiB of text, or after the first record: with --mappings all
    the ioctl source asks again for a new file's record, with its build
    ID, so that is the second ioctl). Its parent (a sleep)
    does not reap it, so the text just ends there, without an error: the
    snapshot would be the first part only. It is reported as exited."""
    ready = tmp_path / "ready"
    parent = spawn(["sh", "-c", f'{sys.executable} -c "$0" {ready} & exec sleep 600', MANY],
                   ready_line=False)
    end = time.monotonic() + 30
    while not ready.exists():
        assert time.monotonic() < end, "the target never got ready"
        time.sleep(0.01)
    pid = int(ready.read_text())
    assert sum(1 for _ in open(f"/proc/{pid}/maps", "rb")) > 3000
    env = dict(os.environ, LD_PRELOAD=str(FIXTURES / "killshim.so"),
               MODMAP_TEST_KILL=str(pid), MODMAP_TEST_KILL_AT="3")
    p = subprocess.run([str(MODMAP), "--pid", str(pid), "--source", source,
                        "--mappings", "all"], capture_output=True, env=env, timeout=120)
    assert p.stderr.decode().strip() == f"modmap: pid {pid}: process exited while being read"
    assert p.returncode == 1
    assert p.stdout == b""
