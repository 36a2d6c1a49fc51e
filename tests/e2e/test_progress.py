"""Progress of long work (SPEC "Packaging and first contact").

The library's side: build/fixtures/progressprobe (include/modmap.h only)
prints every progress call of modmap_attach, a collector and a
symbolizer, and its counts are checked against the files themselves
(their sizes, os.stat), /proc/PID/maps and readelf's build IDs.

The command's side: modmap runs with standard error on a pty (Python's
pty module), and what it wrote there is replayed through a small
terminal model ('\\r' back to the line's start, '\\n' ends it, later text
over earlier): the progress line is drawn, says what the oracle says, and
is gone at the end, leaving only the real messages; nothing of it when
standard error is not a terminal, with -q, or when the output itself is
on the terminal.
"""
import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import termios

import pytest

from conftest import FIXTURES, MODMAP, need, needs, proc_maps, run_modmap, start

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


def large_profile(samples, addresses=(0x1100,)):
    """A raw pprof profile of many samples (distinct values, so that it
    does not shrink to nothing under gzip) over locations 1.. at
    addresses, written as Go orders it (samples before locations)."""
    sample = [_field(2, _field(1, _varint(1 + i % len(addresses))) +
                     _field(2, _varint(i * 7919 % 1000003)))
              for i in range(samples)]
    locs = b"".join(_field(4, _varint(1 << 3) + _varint(i + 1) + _varint(3 << 3) + _varint(a))
                    for i, a in enumerate(addresses))
    strings = b"".join(_field(6, s) for s in (b"", b"samples", b"count"))
    return _field(1, _varint(1 << 3) + _varint(1) + _varint(2 << 3) + _varint(2)) + \
        b"".join(sample) + locs + strings


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


# ---- the command: one line on a terminal ---------------------------------------

def run_on_pty(args, stdout_on_pty=False, input=None, columns=None):
    """modmap with standard error on a new pty (and standard output too,
    or to a pipe), columns wide if given; returns (status, stdout bytes,
    what the pty got)."""
    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        p = subprocess.Popen([str(MODMAP), *map(str, args)],
                             stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=slave if stdout_on_pty else subprocess.PIPE, stderr=slave)
        os.close(slave)
        if input is not None:
            p.stdin.write(input)
            p.stdin.close()
        chunks = []
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:     # EIO: the last writer closed the pty
                break
            if not b:
                break
            chunks.append(b)
        out = b"" if stdout_on_pty else p.stdout.read()
        p.wait(timeout=120)
    finally:
        os.close(master)
    return p.returncode, out, b"".join(chunks).decode(errors="replace")


def screen(raw):
    """The lines a terminal shows after raw, and the line the cursor is on."""
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
    return lines, "".join(cur).rstrip()


def drawn(raw, words):
    """The progress texts drawn, in order: each follows a '\\r'."""
    return [seg.strip() for seg in raw.split("\r") if words in seg]


def gone_at_the_end(raw, words):
    """The line is erased: the cursor's line is blank, and no line left on
    the screen holds it; what stays are messages. Returns those."""
    lines, last = screen(raw)
    assert last == "", repr(last)
    assert not [l for l in lines if words in l], lines
    assert all(l.startswith("modmap: ") for l in lines if l), lines
    return [l for l in lines if l]


def size_text(n):
    """progress_size's form, worked out here: tenths cut, 1024s."""
    if n < 1024:
        return f"{n} B"
    scale, unit = 1024, 0
    while unit < 3 and n // scale >= 1024:
        scale, unit = scale * 1024, unit + 1
    return f"{n // scale}.{n % scale * 10 // scale} {['KiB', 'MiB', 'GiB', 'TiB'][unit]}"


def test_all_counts_processes_read_and_leaves_no_trace(tmp_path):
    before = len([d for d in os.listdir("/proc") if d.isdigit()])
    rc, _, raw = run_on_pty(["--all", "-f", "jsonl", "-o", tmp_path / "all.jsonl"])
    after = len([d for d in os.listdir("/proc") if d.isdigit()])
    assert rc == 0, raw
    lines = drawn(raw, "processes read")
    assert lines and lines[0].startswith("modmap: 0 of "), raw[:300]
    counts = [tuple(int(x) for x in re.match(r"modmap: (\d+) of (\d+) processes read$", l).groups())
              for l in lines]
    total = counts[0][1]
    # As many as /proc lists (give or take what other tests start and end).
    assert min(before, after) - 20 <= total <= max(before, after) + 20, (total, before, after)
    assert all(t == total and d < t for d, t in counts)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)
    gone_at_the_end(raw, "processes read")
    # What it wrote is whole: one object a line, none torn.
    assert all(l.startswith("{") for l in (tmp_path / "all.jsonl").read_text().splitlines())


def test_collect_draws_its_files_then_only_the_summary(sleeper, tmp_path):
    rc, _, raw = run_on_pty(["collect", "--pid", sleeper.pid, "-o", tmp_path / "store"])
    assert rc == 0, raw
    lines = drawn(raw, "collect: process")
    assert lines[0] == "modmap: collect: process 1 of 1: 0 copied (0 B), 0 present, 0 skipped"
    left = gone_at_the_end(raw, "collect: process")
    assert len(left) == 1 and left[0].startswith("modmap: collected into "), left


def test_attach_draws_both_passes_of_the_profile_file(profile, tmp_path):
    size = os.stat(profile / "big.pb").st_size
    rc, _, raw = run_on_pty(["attach", "--snapshot", profile / "snap.pb.gz", profile / "big.pb",
                             "-o", tmp_path / "out.pb.gz"])
    assert rc == 0, raw
    lines = drawn(raw, "attach: pass")
    got = [re.match(r"modmap: attach: pass ([12]) of 2: (.+) of (.+) read$", l).groups()
           for l in lines]
    assert {p for p, _, _ in got} == {"1", "2"}, lines
    assert [p for p, _, _ in got] == sorted(p for p, _, _ in got), "pass 2 after pass 1"
    assert {t for _, _, t in got} == {size_text(size)}
    assert got[0][1] == size_text(WINDOW)
    left = gone_at_the_end(raw, "attach: pass")
    assert len(left) == 1 and left[0].startswith("modmap: attached "), left


def test_attach_draws_each_pass_however_quick(profile, tmp_path):
    """A small profile: each pass is one read, a moment after the other;
    both are drawn, each with all of the file read."""
    prof = tmp_path / "small.pb"
    prof.write_bytes(large_profile(1000))
    size = size_text(os.stat(prof).st_size)
    rc, _, raw = run_on_pty(["attach", "--snapshot", profile / "snap.pb.gz", prof,
                             "-o", tmp_path / "out.pb.gz"])
    assert rc == 0, raw
    assert drawn(raw, "attach: pass") == [f"modmap: attach: pass 1 of 2: {size} of {size} read",
                                          f"modmap: attach: pass 2 of 2: {size} of {size} read"]
    gone_at_the_end(raw, "attach: pass")


def test_attach_collect_draws_the_files_it_keeps(sleeper, tmp_path):
    """attach --collect keeps the binaries after the profile: the line
    then counts files as collect does, the first one's bytes as it is."""
    code = [m for m in proc_maps(sleeper.pid) if "x" in m["perms"] and m["name"].startswith("/")]
    want = [m["name"] for m in code if gnu_build_id(m["name"])]
    prof = tmp_path / "p.pb"
    prof.write_bytes(large_profile(1000, [code[0]["start"] + 0x10]))
    rc, _, raw = run_on_pty(["attach", "--pid", sleeper.pid, prof, "-o", tmp_path / "out.pb.gz",
                             "--collect", tmp_path / "store"])
    assert rc == 0, raw
    lines = drawn(raw, "attach: collect:")
    first = os.stat(want[0]).st_size
    assert lines[0] == (f"modmap: attach: collect: file 1 of {len(want)}: 1 copied "
                        f"({size_text(first)}), 0 present, 0 skipped"), lines
    left = gone_at_the_end(raw, "attach: collect:")
    assert len(left) == 2 and left[0].startswith("modmap: attached ") and \
        left[1].startswith("modmap: collected into "), left


@needs("symbolize")
def test_attach_symbolize_draws_the_modules_opened(sleeper, tmp_path):
    code = [m for m in proc_maps(sleeper.pid) if "x" in m["perms"] and m["name"].startswith("/")]
    addrs = [m["start"] + 0x10 for m in code]
    prof = tmp_path / "p.pb"
    prof.write_bytes(large_profile(1000, addrs))
    rc, _, raw = run_on_pty(["attach", "--pid", sleeper.pid, "--symbolize", prof,
                             "-o", tmp_path / "out.pb.gz"])
    assert rc == 0, raw
    # Modules are opened between the passes: pass 2 is drawn with them,
    # one per file of the addresses.
    files = {m["name"] for m in code}
    assert any(l.startswith("modmap: attach: pass 2 of 2: ") and
               l.endswith(f"; {len(files)} modules opened") for l in drawn(raw, "attach: pass")), raw
    gone_at_the_end(raw, "attach: pass")


@needs("symbolize")
def test_lookup_symbolize_draws_the_module_it_opens(sleeper):
    libc = next(m for m in proc_maps(sleeper.pid)
                if "x" in m["perms"] and "/libc" in m["name"])
    rc, out, raw = run_on_pty(["lookup", "--symbolize", "--pid", sleeper.pid,
                               f"{libc['start'] + 0x100:x}"])
    assert rc == 0, raw
    lines = drawn(raw, "modules opened")
    assert lines[0] == f"modmap: lookup: 1 modules opened ({os.path.basename(libc['name'])})"
    gone_at_the_end(raw, "modules opened")
    assert out.decode().startswith(f"0x{libc['start'] + 0x100:x} ")


def commands(cmd, sleeper, tmp_path, profile):
    """Each command that draws, as it would be run."""
    if cmd == "lookup":
        need("symbolize")
    code = [m for m in proc_maps(sleeper.pid) if "x" in m["perms"] and m["name"].startswith("/")]
    return {
        "all": ["--all", "-f", "jsonl", "-o", tmp_path / "all.jsonl"],
        "collect": ["collect", "--pid", sleeper.pid, "-o", tmp_path / "store"],
        "attach": ["attach", "--snapshot", profile / "snap.pb.gz", profile / "big.pb",
                   "-o", tmp_path / "out.pb.gz"],
        "lookup": ["lookup", "--symbolize", "--pid", sleeper.pid, f"{code[0]['start']:x}"],
    }


WORDS = ("processes read", "collect: process", "attach: pass", "modules opened")


@pytest.mark.parametrize("cmd", ["all", "collect", "attach", "lookup"])
def test_quiet_draws_nothing(cmd, sleeper, tmp_path, profile):
    args = commands(cmd, sleeper, tmp_path, profile)[cmd]
    rc, _, raw = run_on_pty([*args, "-q"])
    assert rc == 0, raw
    assert "\r" not in raw.replace("\r\n", "\n"), repr(raw[:300])
    assert not any(w in raw for w in WORDS)


@pytest.mark.parametrize("cmd", ["all", "collect", "attach", "lookup"])
def test_nothing_when_stderr_is_not_a_terminal(cmd, sleeper, tmp_path, profile):
    args = commands(cmd, sleeper, tmp_path, profile)[cmd]
    p = subprocess.run([str(MODMAP), *map(str, args)], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b"\r" not in p.stderr and not any(w.encode() in p.stderr for w in WORDS), p.stderr


@pytest.mark.parametrize("cmd", ["all", "lookup"])
def test_nothing_when_the_output_is_that_terminal(cmd, sleeper, tmp_path, profile):
    """Text on the terminal itself: a line rewritten over it would tear it."""
    args = [a for a in commands(cmd, sleeper, tmp_path, profile)[cmd]]
    if cmd == "all":
        args = ["--all"]
    rc, _, raw = run_on_pty(args, stdout_on_pty=True)
    assert rc == 0
    assert not any(w in raw for w in WORDS), raw[:300]


def test_collect_messages_are_whole_lines(sleeper, tmp_path):
    """A file not kept is named on a line of its own: the progress line is
    erased first, not written on."""
    rc, _, raw = run_on_pty(["collect", "--pid", sleeper.pid, "-o", tmp_path / "store",
                             "--max-file-size", "1k"])
    assert rc == 1, raw
    left = gone_at_the_end(raw, "collect: process")
    skipped = [l for l in left if l.startswith("modmap: pid ")]
    assert len(skipped) >= 2, left
    assert all(l.startswith(f"modmap: pid {sleeper.pid}: /") and
               "larger than the size limit" in l for l in skipped), left
    assert left[-1].startswith("modmap: collected into ") and len(left) == len(skipped) + 1


def test_the_line_fits_the_terminal(profile, tmp_path):
    """Cut to the terminal's width (one column short): a line that wrapped
    could not be rewritten by returning to its start."""
    rc, _, raw = run_on_pty(["attach", "--snapshot", profile / "snap.pb.gz", profile / "big.pb",
                             "-o", tmp_path / "out.pb.gz"], columns=30)
    assert rc == 0, raw
    lines = drawn(raw, "attach: pass")
    assert lines and all(len(l) <= 29 for l in lines), lines
    assert lines[0] == "modmap: attach: pass 1 of 2: "[:29].strip()
    assert screen(raw)[1] == ""


@needs("symbolize")
def test_a_file_name_cannot_drive_the_terminal(tmp_path):
    """A module whose name holds control bytes (here a clear-screen escape
    and a bell) is drawn with '?' for them: file names are not the
    terminal's commands. The answer is written and flushed, and the line
    is gone with it (no warning erased it: every address has symbols)."""
    d = tmp_path / "bin"
    d.mkdir()
    name = "sym\x1b[2J\x07fix"
    shutil.copy(FIXTURES / "symfix", d / name)
    shutil.copy(FIXTURES / "libsymfix.so", d / "libsymfix.so")
    proc = start([d / name])
    try:
        addr = dict(w.split("=", 1) for w in proc.ready.split()[1:])["static"]
        rc, out, raw = run_on_pty(["lookup", "--symbolize", "--pid", proc.pid, addr])
    finally:
        proc.stop()
    assert rc == 0, raw
    assert "\x1b" not in raw and "\x07" not in raw, repr(raw)
    assert drawn(raw, "modules opened")[0] == "modmap: lookup: 1 modules opened (sym?[2J?fix)"
    assert gone_at_the_end(raw, "modules opened") == []
    assert "static_fn" in out.decode(errors="replace")
