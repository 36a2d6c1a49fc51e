"""Progress on a terminal: --all, collect and attach draw one line on
standard error when it is a terminal (a pty here, Python's pty module),
rewritten in place with carriage returns and erased when the work is done,
so the screen ends holding only the real messages; nothing of it when
standard error is not a terminal, or with -q.

The oracle is a small terminal model: the bytes written to the pty,
replayed with '\\r' returning to the line's start and '\\n' ending it."""
import os
import pty
import subprocess

import pytest

from conftest import MODMAP, run_modmap


def run_on_pty(args, cwd=None):
    """modmap with standard error on a new pty, standard output to a pipe."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([str(MODMAP), *map(str, args)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=slave, cwd=cwd)
        os.close(slave)
        chunks = []
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:     # EIO: the last writer closed the pty
                break
            if not b:
                break
            chunks.append(b)
        out = p.stdout.read()
        p.wait(timeout=120)
    finally:
        os.close(master)
    return p.returncode, out, b"".join(chunks).decode(errors="replace")


def screen(raw):
    """The lines a terminal shows after raw: '\\r' goes back to column 0,
    '\\n' ends a line (the pty turns it into '\\r\\n'); later text
    overwrites earlier text in place."""
    lines, cur, col = [], [], 0
    for ch in raw:
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur).rstrip())
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = ch
            else:
                cur.append(ch)
            col += 1
    last = "".join(cur).rstrip()
    return lines, last


def progress_lines(raw, words):
    """The distinct progress texts drawn (each begins after a '\\r')."""
    return [seg.strip() for seg in raw.split("\r") if words in seg]


def test_all_shows_processes_read_and_leaves_no_trace(tmp_path):
    rc, out, raw = run_on_pty(["--all", "-f", "jsonl", "-o", tmp_path / "all.jsonl"])
    assert rc in (0, 1)
    drawn = progress_lines(raw, "processes read")
    assert drawn, raw[:500]
    assert drawn[0].startswith("modmap: 0 of "), drawn[0]
    total = int(drawn[0].split(" of ")[1].split()[0])
    assert total >= 2       # this test's python and modmap at least
    lines, last = screen(raw)
    assert last == "", repr(last)      # erased: the cursor's line is empty
    # What stays on the screen is only real messages (processes not read).
    assert all("processes read" not in line for line in lines), lines
    assert all(line.startswith("modmap: ") for line in lines if line), lines


def test_collect_shows_files_then_only_the_summary(tmp_path, sleeper):
    rc, out, raw = run_on_pty(["collect", "--pid", sleeper.pid, "-o", tmp_path / "bin"])
    assert rc == 0, raw
    drawn = progress_lines(raw, "collect: process")
    assert drawn and drawn[0].startswith("modmap: collect: process 1 of 1: "), drawn
    lines, last = screen(raw)
    assert last == ""
    assert [line for line in lines if line] == [
        line for line in lines if line.startswith("modmap: collected into ")], lines
    assert len(lines) == 1, lines


def test_attach_shows_its_passes(tmp_path):
    snap = tmp_path / "maps.pb.gz"
    run_modmap("--self", "-f", "pprof", "-o", snap)
    rc, out, raw = run_on_pty(["attach", "--snapshot", snap, snap, "-o", tmp_path / "out.pb.gz"])
    assert rc == 0, raw
    drawn = progress_lines(raw, "attach: pass")
    assert any(d.startswith("modmap: attach: pass 1 of 2") for d in drawn), raw
    assert any(d.startswith("modmap: attach: pass 2 of 2") for d in drawn), raw
    lines, last = screen(raw)
    assert last == ""
    assert len(lines) == 1 and lines[0].startswith("modmap: attached "), lines


@pytest.mark.parametrize("args", [
    ["--all", "-f", "jsonl", "-q"],
    ["collect", "--self", "-q"],
])
def test_quiet_draws_nothing(tmp_path, args):
    args = [*args, "-o", tmp_path / "o"]
    rc, out, raw = run_on_pty(args)
    assert "\r" not in raw.replace("\r\n", "\n"), repr(raw[:300])
    assert "processes read" not in raw and "collect: process" not in raw


def test_nothing_when_stderr_is_not_a_terminal(tmp_path):
    p = subprocess.run([str(MODMAP), "--all", "-f", "jsonl", "-o", str(tmp_path / "o")],
                       capture_output=True, timeout=120)
    assert b"\r" not in p.stderr and b"processes read" not in p.stderr


def test_nothing_when_the_output_is_that_terminal():
    """Text to the terminal itself: a progress line would tear its lines."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([str(MODMAP), "--all"], stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=slave)
        os.close(slave)
        raw = b""
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:
                break
            if not b:
                break
            raw += b
        p.wait(timeout=120)
    finally:
        os.close(master)
    assert b"processes read" not in raw
