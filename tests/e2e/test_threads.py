"""Two threads use libmodmap at once (SPEC "Thread safety"): each reads
its own process, writes it, looks every mapping up, attaches a saved
snapshot to a profile, collects the files into a store of its own and
symbolizes libc's read() in its process, three times over, under ThreadSanitizer (clang -fsanitize=thread, the
library's sources instrumented too; tests/fixtures/tsan_threads.c). No
race may be reported, and what each thread got is checked against the
kernel (/proc/PID/maps), readelf and llvm-symbolizer.
"""
import os
import re
import subprocess
import time
from pathlib import Path

from conftest import ROOT, needs, proc_maps, wait_asleep

BIN = ROOT / "build/tsan/tsan_threads"


def build():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    subprocess.run(["make", "-s", "-C", str(ROOT), "build/tsan/tsan_threads"], check=True,
                   env=env, timeout=1200)


def gnu_build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def libc_read(pid):
    """Where read() is in pid's libc, and the names it may be given: the
    symbols at its address (readelf, of libc and of its separate debug
    file where libc6-dbg installed one) and what llvm-symbolizer, an
    independent symbolizer, calls it."""
    maps = proc_maps(pid)
    libc = next(m["name"] for m in maps if re.search(r"/libc[.-][^/]*so", m["name"] or ""))
    base = min(m["start"] for m in maps if m["name"] == libc and m["offset"] == 0)
    syms = subprocess.run(["readelf", "--dyn-syms", "-W", libc], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    bid = gnu_build_id(libc)
    debug = Path(f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug")
    if debug.exists():
        syms += subprocess.run(["readelf", "-Ws", str(debug)], capture_output=True, text=True,
                               check=True).stdout.splitlines()
    value = next(l.split()[1] for l in syms if re.search(r"\sread@", l))
    names = {l.split()[7].split("@")[0] for l in syms
             if len(l.split()) > 7 and l.split()[1] == value and l.split()[3] == "FUNC"}
    llvm = subprocess.run(["llvm-symbolizer", f"--obj={libc}", f"0x{value}"], capture_output=True,
                          text=True, check=True).stdout.split("\n")[0]
    return base + int(value, 16), names | {llvm}


@needs("llvm_symbolizer")
def test_two_threads_snapshot_attach_and_collect_without_a_race(spawn, tmp_path):
    build()
    a = spawn(["sleep", "600"], ready_line=False)
    b = spawn(["cat"], ready_line=False)      # another program, blocked on its stdin
    wait_asleep(a.pid)
    # Settled: cat sits in read(0, ...) once its loader is done.
    deadline = time.monotonic() + 10
    while (Path(f"/proc/{b.pid}/syscall").read_text().split() or ["?"])[0] != "0":
        assert time.monotonic() < deadline, "cat never blocked on its standard input"
        time.sleep(0.01)
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0")
    reads = [libc_read(a.pid), libc_read(b.pid)]
    p = subprocess.run([str(BIN), str(tmp_path), str(a.pid), str(b.pid),
                        *(f"{addr:x}" for addr, _ in reads)], capture_output=True,
                       text=True, env=env, timeout=600)
    assert "ThreadSanitizer" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "OK"
    for i, pid in enumerate((a.pid, b.pid)):
        rows = [l.split() for l in lines if l.startswith(f"T{i} ")]
        assert len(rows) == 3, lines
        # The kernel's executable, named mappings (the default set).
        kernel = [m for m in proc_maps(pid) if "x" in m["perms"] and m["name"]]
        files = {m["name"] for m in kernel if m["name"].startswith("/")}
        for _, rpid, n, _, attached, kept, skipped, function in rows:
            assert function in reads[i][1], (function, reads[i][1])
            assert int(rpid) == pid
            assert int(n) == len(kernel)
            assert int(attached) == len(kernel)     # attach took the snapshot's table
            assert int(kept) == len(files) and int(skipped) == 0
        # The store holds each file under its GNU build ID, as readelf reads it.
        store = tmp_path / f"t{i}-store"
        for f in files:
            bid = gnu_build_id(f)
            assert bid and (store / bid / os.path.basename(f)).is_file(), f
