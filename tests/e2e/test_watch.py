"""modmap watch: a process followed over time, as JSON Lines.

The oracles: the kernel's /proc/PID/maps parsed here (the initial set and
the library's range), readelf -n (the library's build ID), and the
fixture's own word that it has dlopened, dlclosed or is about to exit.
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import FIXTURES, MODMAP, as_int, proc_maps, start

DLWATCH = FIXTURES / "dlwatch"
LIBFIX = FIXTURES / "libfix.so"
DEADLINE = 10  # seconds for any one expected line


class Lines:
    """The lines a process writes, read in a thread so each can be awaited
    with a deadline."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.raw = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in iter(stream.readline, b""):
            self.raw.append(line)
            self.q.put(line)
        self.q.put(None)

    def next(self, what):
        try:
            line = self.q.get(timeout=DEADLINE)
        except queue.Empty:
            raise AssertionError(f"no line within {DEADLINE}s: waiting for {what}")
        assert line is not None, f"output ended: waiting for {what}"
        assert line.endswith(b"\n")
        return json.loads(line)

    def end(self):
        line = self.q.get(timeout=DEADLINE)
        assert line is None, f"more output: {line!r}"


def watch(*args):
    p = subprocess.Popen([str(MODMAP), "watch", *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    return p, Lines(p.stdout)


def exec_maps(pid):
    """(start, limit, offset, file) of what --mappings exec keeps, from the kernel."""
    out = []
    for m in proc_maps(pid):
        name = m["name"]
        if "x" in m["perms"] and name and (m["inode"] or name.startswith("[")):
            out.append((m["start"], m["limit"], m["offset"], name))
    return out


def key(ev):
    return (as_int(ev["start"]), as_int(ev["limit"]), as_int(ev["offset"]), ev["file"])


TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def nanos(text):
    m = TIME.match(text)
    assert m, text
    y, mo, d, h, mi, s, frac = m.groups()
    import calendar
    sec = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    return sec * 10**9 + int((frac or "0").ljust(9, "0"))


def snapshot(pid):
    """modmap's own mappings of pid, for the keys (not the oracle for the set)."""
    out = subprocess.run([str(MODMAP), "--pid", str(pid), "-f", "json"], capture_output=True,
                         check=True).stdout
    return json.loads(out)["mappings"]


def body(ev):
    return {k: v for k, v in ev.items() if k not in ("event", "time", "pid")}


def readelf_build_id(path):
    if not shutil.which("readelf"):
        pytest.skip("needs readelf (binutils)")
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, out
    return m.group(1)


@pytest.fixture
def dlwatch():
    proc = start([DLWATCH])
    assert proc.ready == "ready"
    yield proc
    proc.stop()


def tell(proc, command, reply):
    proc.popen.stdin.write(command.encode() + b"\n")
    proc.popen.stdin.flush()
    if reply:
        got = proc.popen.stdout.readline().decode().strip()
        assert got == reply, f"fixture said {got!r} to {command!r}"


def test_load_unload_exit_in_order(dlwatch):
    pid = dlwatch.pid
    lib = str(LIBFIX.resolve())
    want_id = readelf_build_id(LIBFIX)
    before = exec_maps(pid)
    snap_before = snapshot(pid)
    w, lines = watch("--pid", pid, "--interval", "20ms")
    try:
        events = []
        # The current mappings first, as loads: the kernel's exec set.
        initial = [lines.next("the initial loads") for _ in before]
        assert [e["event"] for e in initial] == ["load"] * len(before)
        assert [key(e) for e in initial] == before
        assert all(e["pid"] == pid for e in initial)
        events += initial

        tell(dlwatch, f"open {lib}", "opened")
        added = [m for m in exec_maps(pid) if m not in before]
        snap_open = snapshot(pid)
        assert added and all(m[3] == lib for m in added), added
        loads = [lines.next("the library's load") for _ in added]
        assert [(e["event"], key(e)) for e in loads] == [("load", m) for m in added]
        for e in loads:
            assert e["build_id"] == want_id and e["build_id_kind"] == "gnu"
            assert e["main"] is False
        events += loads

        tell(dlwatch, "close", "closed")
        assert exec_maps(pid) == before
        unloads = [lines.next("the library's unload") for _ in added]
        assert [(e["event"], key(e)) for e in unloads] == [("unload", m) for m in added]
        assert unloads[0]["build_id"] == want_id
        events += unloads

        tell(dlwatch, "exit", None)
        last = lines.next("the exit")
        assert last == {"event": "exit", "time": last["time"], "pid": pid}
        events.append(last)
        lines.end()
        assert w.wait(timeout=DEADLINE) == 0, w.stderr.read()
        assert w.stderr.read() == b""

        times = [nanos(e["time"]) for e in events]
        assert times == sorted(times)
        assert times[0] < times[len(initial)] < times[-len(unloads) - 1] < times[-1]
        # Each event carries exactly the snapshot's keys for its mapping.
        assert [body(e) for e in initial] == snap_before
        assert [body(e) for e in loads] == [m for m in snap_open if m not in snap_before]
        assert [body(e) for e in unloads] == [body(e) for e in loads]
        for e in events[:-1]:
            assert list(e.keys())[:3] == ["event", "time", "pid"]
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def test_sigterm_mid_run_leaves_whole_lines(dlwatch):
    """A stream of loads and unloads cut by SIGTERM: whole lines, exit 0."""
    tell(dlwatch, f"cycle {LIBFIX.resolve()}", None)
    w, lines = watch("--pid", dlwatch.pid, "--interval", "1ms", "--mappings", "all")
    try:
        seen = 0
        while seen < 50:   # well into the stream of events
            lines.next("events from a process that loads and unloads")
            seen += 1
        w.send_signal(signal.SIGTERM)
        assert w.wait(timeout=DEADLINE) == 0, w.stderr.read()
        deadline = time.monotonic() + DEADLINE
        while True:
            line = lines.q.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
        assert lines.raw, "no output"
        for line in lines.raw:
            assert line.endswith(b"\n"), line
            ev = json.loads(line)
            assert ev["event"] in ("load", "unload")
        assert w.stderr.read() == b""
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def test_sigint_while_idle_exits_0(dlwatch):
    before = exec_maps(dlwatch.pid)
    w, lines = watch("--pid", dlwatch.pid, "--interval", "5s")
    try:
        for _ in before:
            lines.next("the initial loads")
        # Asleep for 5s: SIGINT must cut the sleep short.
        t0 = time.monotonic()
        w.send_signal(signal.SIGINT)
        assert w.wait(timeout=DEADLINE) == 0
        assert time.monotonic() - t0 < 2, "the sleep was not interrupted"
        lines.end()
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def test_no_such_process():
    pid = 4194304 - 1
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    p = subprocess.run([str(MODMAP), "watch", "--pid", str(pid)], capture_output=True,
                       timeout=DEADLINE)
    assert p.returncode == 1
    assert p.stdout == b""
    lines = p.stderr.decode().splitlines()
    assert lines == [f"modmap: pid {pid}: no such process"]


@pytest.mark.parametrize("bad", ["0ms", "10", "1h", "ms", "-5ms", "99999999999s"])
def test_nonsense_interval_is_a_usage_error(bad):
    p = subprocess.run([str(MODMAP), "watch", "--pid", "1", "--interval", bad],
                       capture_output=True, timeout=DEADLINE)
    assert p.returncode == 2
    assert bad in p.stderr.decode().splitlines()[0]
    assert p.stdout == b""


def test_help():
    p = subprocess.run([str(MODMAP), "watch", "--help"], capture_output=True, check=True)
    text = p.stdout.decode()
    for word in ("--pid", "--interval", "--mappings", "--procfs", "load", "unload", "exit"):
        assert word in text
