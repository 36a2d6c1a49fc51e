"""The trust boundary, part two (issue 24, SPEC "Trust"; docs/security.md):
time (a stalled FUSE file, exec, PID reuse), escaping (collect's stderr,
pprof comments, JIT names cut inside a character), container identity and
decompression. Each test names the defect it guards. The attacker (the
target process, its files, its cgroup) runs as an ordinary user where that
matters; the oracles are the kernel (/proc), `go tool pprof`, protoc, the
cgroup file system and the kernel's own accounting of peak memory.
"""
import gzip
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from conftest import (FIXTURES, _has_procmap_query, GOCODE, MODMAP, go_env, need, needs, proc_maps, run_modmap,
                      unprivileged_prefix, wait_asleep)

PROTO = GOCODE / "src/github.com/google/pprof/proto/profile.proto"
ESC = b"\x1b"


def wait_for(what, check, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def user_ids():
    import pwd
    unprivileged_prefix()  # makes the user, or skips
    pw = pwd.getpwnam("modmap-test")
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def open_dir():
    """A directory under /tmp that an ordinary user may read (pytest's own
    tmp_path is root's 0700)."""
    import shutil
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="modmap-trust-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---- defect 8: a stalled FUSE file -------------------------------------------

def start_stalled(mnt, uid, gid, chroot=False, binary=FIXTURES / "fusestall"):
    """fusestall (binary: a copy of it) mounted at mnt in a private mount
    namespace, its target run as uid:gid (chrooted into the mount with
    chroot): (server, target pid)."""
    env = dict(os.environ, FUSESTALL_CHROOT="1" if chroot else "0")
    server = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", str(binary), str(mnt),
         str(uid), str(gid)], stdout=subprocess.PIPE, start_new_session=True, env=env)
    try:
        import select
        ready, _, _ = select.select([server.stdout], [], [], 30)
        assert ready, "fusestall never said ready"
        line = server.stdout.readline().decode()
        assert line.startswith("ready "), f"fusestall: {line!r}"
        pid = int(line.split()[1])
        mapped = [m for m in proc_maps(pid) if m["name"] == f"{mnt}/lib.so"]
        assert mapped and "x" in mapped[0]["perms"], proc_maps(pid)
        return server, pid
    except BaseException:
        stop_stalled(server)
        raise


def stop_stalled(server):
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


@pytest.fixture
def stalled(open_dir):
    """A FUSE server (root, in a private mount namespace) whose reads never
    return, and an ordinary user's process mapping its lib.so executable.
    Yields (server, target pid). Killing the server aborts the connection,
    which frees any reader stuck in it, and the namespace takes the mount."""
    need("fuse", "mount_ns")
    uid, gid = user_ids()
    mnt = open_dir / "mnt"
    mnt.mkdir()
    server, pid = start_stalled(mnt, uid, gid)
    try:
        yield server, pid
    finally:
        stop_stalled(server)


def bounded(args, seconds, prefix=()):
    """Runs modmap (after prefix: as another user); fails (and kills it)
    when it takes longer than seconds."""
    p = subprocess.Popen([*prefix, str(MODMAP), *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        out, err = p.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError(f"modmap {' '.join(map(str, args))} still running after "
                             f"{seconds}s (a reader stuck in the FUSE file)")
    return p.returncode, out, err, time.monotonic() - t0


@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")),
                                    "maps"])
@needs("root")
def test_defect8_fuse_file_is_not_read(stalled, sleeper, source):
    """Defect 8: a snapshot of a process mapping a file whose FUSE server
    never answers does not hang: the file's contents are not read (its
    mapping is listed, without a build ID from contents), and the next
    process is read as usual."""
    _, pid = stalled
    rc, out, err, _ = bounded(["--pid", pid, "--pid", sleeper.pid, "--source", source,
                               "-f", "json"], 20)
    assert rc == 0, err
    docs = json.loads(out)
    fuse = [m for m in docs[0]["mappings"] if m["file"].endswith("/mnt/lib.so")]
    assert len(fuse) == 1
    assert fuse[0]["build_id_kind"] in ("path", "none"), fuse[0]
    kernel = {(m["start"], m["limit"]) for m in proc_maps(sleeper.pid) if "x" in m["perms"]}
    got = {(int(m["start"], 16), int(m["limit"], 16)) for m in docs[1]["mappings"]}
    assert kernel <= got


@needs("root")
def test_defect8_server_that_stalls_everything(stalled, sleeper):
    """Defect 8, a server that stops answering getattr, open and statfs too:
    still no hang, in every build-ID mode."""
    server, pid = stalled
    os.kill(server.pid, signal.SIGUSR1)
    for mode in ("auto", "native", "mtime"):
        rc, out, err, _ = bounded(["--pid", pid, "--build-id", mode, "-f", "json"], 20)
        assert rc == 0, (mode, err)
        assert any(m["file"].endswith("/mnt/lib.so") for m in json.loads(out)["mappings"])


@needs("root")
def test_defect8_read_fuse_is_bounded_by_timeout(stalled, sleeper):
    """Defect 8: asked to read FUSE files (--read-fuse), the stalled read
    costs that process --timeout, named on stderr; the next one is read."""
    _, pid = stalled
    rc, out, err, took = bounded(["--pid", pid, "--pid", sleeper.pid, "--read-fuse",
                                  "--timeout", "1s", "-f", "jsonl"], 20)
    assert rc == 1, err
    assert took < 10
    lines = err.decode().splitlines()
    assert any(l.startswith(f"modmap: pid {pid}: ") and "timed out" in l for l in lines), lines
    docs = [json.loads(l) for l in out.splitlines()]
    assert [d["pid"] for d in docs] == [sleeper.pid]


@pytest.fixture(params=["tmp", "root"])
def stalled_place(request, open_dir):
    """The same server where a process's paths are looked up: mounted over
    /tmp in the target's own mount namespace (the host's /tmp untouched),
    where --jit looks for its perf map and which the path of its own
    executable (run from a copy in the host's /tmp) crosses; or as the
    root the target chroots into, under every path it has. Yields (server,
    pid, lib.so's path)."""
    import shutil
    need("fuse", "mount_ns")
    uid, gid = user_ids()
    binary = open_dir / "fusestall"
    shutil.copy2(FIXTURES / "fusestall", binary)
    if request.param == "tmp":
        mnt = Path("/tmp")
    else:
        mnt = open_dir / "mnt"
        mnt.mkdir()
    server, pid = start_stalled(mnt, uid, gid, chroot=request.param == "root", binary=binary)
    try:
        yield server, pid, f"{mnt}/lib.so"
    finally:
        stop_stalled(server)


@needs("root")
def test_defect8_no_path_looked_up_on_a_stalled_tmp_or_root(stalled_place, sleeper):
    """Defect 8 where the target's paths lead: its /tmp (where its perf map
    would be), or its whole root, is a FUSE mount whose server stops
    answering lookups too. No source, build-ID mode or --jit looks a name
    up there: each run ends, lists the stalled file, and goes on with the
    next process."""
    server, pid, lib = stalled_place
    os.kill(server.pid, signal.SIGUSR1)
    sources = ["maps"] + (["query"] if _has_procmap_query() else [])
    for args in (["--jit"], *(["--source", s, "--build-id", b]
                                for s in sources for b in ("auto", "native", "mtime"))):
        rc, out, err, _ = bounded(["--pid", pid, "--pid", sleeper.pid, *args, "-f", "jsonl"], 20)
        assert rc == 0, (args, err)
        docs = [json.loads(l) for l in out.splitlines()]
        assert [d["pid"] for d in docs] == [pid, sleeper.pid], args
        assert any(m["file"] == lib for m in docs[0]["mappings"]), (args, docs[0])
    if lib == "/tmp/lib.so":
        return  # the same user's path across its own /tmp: docs/security.md, not covered
    # Its own user, without map_files (no CAP_SYS_ADMIN), reads it too: the
    # root it stands on is not walked.
    rc, out, err, _ = bounded(["--pid", pid, "--source", "maps", "-f", "json"], 20,
                              prefix=unprivileged_prefix())
    assert rc == 0, err
    assert any(m["file"] == lib for m in json.loads(out)["mappings"])


@needs("root")
def test_defect8_lookup_and_collect_go_on(stalled, tmp_path):
    """Defect 8: lookup of an address in the stalled file, and collect of
    its process, answer without reading it."""
    _, pid = stalled
    [m] = [m for m in proc_maps(pid) if m["name"].endswith("/mnt/lib.so")]
    rc, out, err, _ = bounded(["lookup", "--pid", pid, "-f", "json", hex(m["start"] + 0x10)],
                              20)
    assert rc == 0, err
    [a] = json.loads(out)
    assert a["mapped"] and a["file"].endswith("/mnt/lib.so") and "elf_vaddr" not in a, a
    rc, out, err, _ = bounded(["collect", "--pid", pid, "-o", tmp_path / "store"], 20)
    assert rc in (0, 1), err
    assert not list((tmp_path / "store").rglob("lib.so"))


@needs("root")
def test_defect8_watch_goes_on(stalled):
    """Defect 8: watch of a process mapping the stalled file prints its
    mappings and ends with exit when the process does."""
    _, pid = stalled
    w = subprocess.Popen([str(MODMAP), "watch", "--pid", str(pid), "--interval", "50ms"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    try:
        first = json.loads(w.stdout.readline() or b"null")
        assert first and first["event"] == "load", first
        os.kill(pid, signal.SIGKILL)
        out, err = w.communicate(timeout=20)
        assert w.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["event"] == "exit"
    finally:
        w.kill()
        w.wait()


# ---- defect 9: exec ----------------------------------------------------------

EXEC_LOOP = r"""
n=$1
if [ "$n" -le 0 ]; then exec sleep 600; fi
exec /bin/sh "$0" $((n - 1))
"""


def exec_set(pid):
    return {(m["start"], m["limit"]) for m in proc_maps(pid) if "x" in m["perms"] and m["name"]}


@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")),
                                    "maps"])
def test_defect9_watch_follows_exec(tmp_path, source):
    """Defect 9: a process that execs 300 times in a row (each exec a new
    image) is followed: no error, its final image's mappings are what the
    loads minus the unloads leave, and the end is an exit event."""
    script = tmp_path / "loop.sh"
    script.write_text(EXEC_LOOP)
    execs = 1000
    go = tmp_path / "go"
    os.mkfifo(go)
    target = subprocess.Popen(["/bin/sh", "-c", f"read x < {go}; exec /bin/sh {script} {execs}"])
    try:
        wait_for("the target's shell", lambda: exec_set(target.pid))
        w = subprocess.Popen([str(MODMAP), "watch", "--pid", str(target.pid), "--interval",
                              "1ms", "--source", source], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE,
                             bufsize=0)  # communicate() gets every line after readline()
        first = json.loads(w.stdout.readline())
        assert first["event"] == "load"
        # Read as it writes: a full pipe would stop its polls mid-loop.
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(w.stdout.readline, b"")))
        reader.start()
        with open(go, "w") as f:
            f.write("go\n")
        wait_asleep(target.pid)
        time.sleep(0.3)  # several polls of the final image
        assert w.poll() is None, w.stderr.read()  # still following
        target.kill()
        target.wait()
        err = w.stderr.read()
        assert w.wait(timeout=30) == 0, err
        reader.join(timeout=30)
        assert err == b""
        events = [first] + [json.loads(l) for l in lines]
        assert len(events) > execs, "fewer events than images"
        assert events[-1]["event"] == "exit"
        assert all(e["event"] != "exit" for e in events[:-1])
        # Each image is new (ASLR): a mapping loaded twice means a read that
        # saw a cut or empty map passed for the process's, then the whole.
        # ([vsyscall] sits at one address in every image.)
        loaded = [(e["start"], e["limit"], e.get("inode"), e.get("offset")) for e in events
                  if e["event"] == "load" and e["file"] != "[vsyscall]"]
        assert len(loaded) == len(set(loaded)), "a mapping loaded twice"
        live = {}
        for e in events[:-1]:
            k = (e["start"], e["limit"], e.get("inode"), e.get("offset"))
            if e["event"] == "load":
                assert k not in live, e
                live[k] = e
            else:
                assert live.pop(k, None), f"unload of a mapping not loaded: {e}"
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()


def test_defect9_watch_tracks_image_after_exec(tmp_path):
    """Defect 9: after one exec, the running set equals the new image's."""
    go = tmp_path / "go"
    os.mkfifo(go)
    target = subprocess.Popen(["/bin/sh", "-c", f"read x < {go}; exec sleep 600"])
    try:
        wait_for("the target's shell", lambda: exec_set(target.pid))
        w = subprocess.Popen([str(MODMAP), "watch", "--pid", str(target.pid), "--interval",
                              "1ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             bufsize=0)  # communicate() gets every line after readline()
        live = {}
        first = json.loads(w.stdout.readline())  # the first poll is done
        live[(first["start"], first["limit"])] = first["file"]
        with open(go, "w") as f:
            f.write("go\n")
        wait_asleep(target.pid)
        want = {(hex(a), hex(b)) for a, b in exec_set(target.pid)}
        time.sleep(0.3)  # polls of the new image
        target.kill()
        target.wait()
        out, err = w.communicate(timeout=20)
        events = [json.loads(l) for l in out.splitlines()]
        for e in events[:-1]:
            k = (e["start"], e["limit"])
            if e["event"] == "load":
                live[k] = e["file"]
            elif e["event"] == "unload":
                live.pop(k)
            else:
                raise AssertionError(f"unexpected {e}")
        assert set(live) == want
        assert any(f.endswith("/sleep") for f in live.values()), live
        assert w.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["event"] == "exit"
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()


# ---- defect 10: PID reuse ----------------------------------------------------

REUSE = r"""
import json, os, subprocess, sys, time
modmap = sys.argv[1]
a = subprocess.Popen(["sleep", "600"])
w = subprocess.Popen([modmap, "watch", "--pid", str(a.pid), "--interval", "1s"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
first = json.loads(w.stdout.readline())
assert first["event"] == "load", first
a.kill(); a.wait()
time.sleep(0.05)   # the next life starts at another clock tick
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(a.pid - 1))
b = subprocess.Popen(["sleep", "600"])
assert b.pid == a.pid, (a.pid, b.pid)
try:
    out, err = w.communicate(timeout=10)
except subprocess.TimeoutExpired:   # still following the stranger
    w.kill()
    out, err = w.communicate()
    err += b"(killed: still running 10s after the PID was reused)"
finally:
    b.kill(); b.wait()
print(json.dumps({"rc": w.returncode, "out": out.decode(), "err": err.decode()}))
"""


@needs("root", "pid_ns", "mount_ns")
def test_defect10_watch_reports_exit_on_pid_reuse():
    """Defect 10: the process watch follows dies and its PID goes to a new
    process (the same program, even) before the next poll: watch ends with
    exit instead of following the stranger. The PID is reused for real,
    through ns_last_pid in a fresh PID namespace."""
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                        REUSE, str(MODMAP)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    r = json.loads(p.stdout)
    assert r["rc"] == 0, r
    events = [json.loads(l) for l in r["out"].splitlines()]
    assert events, r
    assert events[-1]["event"] == "exit", events
    assert all(e["event"] == "load" for e in events[:-1]), events


# ---- defect 11: collect's stderr ---------------------------------------------

HOSTILE_NAME = "lib\x1b[31mred\nmodmap: pid 1: forged.so"


def test_defect11_collect_stderr_escapes_file_names(tmp_path, open_dir):
    """Defect 11: a library whose name holds ESC and a newline is named on
    collect's stderr escaped: no ESC byte reaches the terminal, and every
    line is one of modmap's own."""
    lib = open_dir / HOSTILE_NAME
    lib.write_bytes((FIXTURES / "libfix.so").read_bytes())
    lib.chmod(0o755)
    prefix = unprivileged_prefix() if os.geteuid() == 0 else []
    t = subprocess.Popen([*prefix, sys.executable, "-c",
                          "import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('ready', flush=True);"
                          " sys.stdin.read()", str(lib)], stdout=subprocess.PIPE,
                         stdin=subprocess.PIPE)
    try:
        assert t.stdout.readline().strip() == b"ready"
        p = run_modmap("collect", "--pid", t.pid, "-o", tmp_path / "store",
                       "--max-file-size", "1", check=False)
    finally:
        t.kill()
        t.wait()
    assert p.returncode == 1, p.stderr
    assert ESC not in p.stderr
    lines = p.stderr.decode().splitlines()
    assert all(l.startswith("modmap: ") for l in lines), lines
    assert not any(l.startswith("modmap: pid 1:") for l in lines), lines
    named = [l for l in lines if "forged.so" in l]
    assert len(named) == 1, lines
    assert "lib\\x1b[31mred\\nmodmap: pid 1: forged.so" in named[0]


# ---- defect 12: pprof comments -------------------------------------------------

def go_tool_pprof_comments(path):
    need("go")
    p = subprocess.run(["go", "tool", "pprof", "-comments", str(path)], capture_output=True,
                       env=go_env(), timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


NAMED = r"""
import ctypes, sys
ctypes.CDLL(None).prctl(15, b"a\nmodmap: pid 1")   # PR_SET_NAME
print("ready", flush=True)
sys.stdin.read()
"""


def test_defect12_pprof_comments_escaped(tmp_path, open_dir):
    """Defect 12: a comm holding a newline and an executable path holding a
    newline and ESC give modmap's three comment lines in `go tool pprof -comments`,
    escaped as the text header escapes them: nothing forged, no ESC."""
    exe_dir = open_dir / "d\x1b[2Jx\nmodmap: pid 1 (linux) forged"
    exe_dir.mkdir()
    exe_dir.chmod(0o755)
    exe = exe_dir / "py"
    exe.write_bytes(Path(os.path.realpath(sys.executable)).read_bytes())
    exe.chmod(0o755)
    prefix = unprivileged_prefix() if os.geteuid() == 0 else []
    t = subprocess.Popen([*prefix, str(exe), "-c", NAMED], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        assert t.stdout.readline() == b"ready\n"
        assert Path(f"/proc/{t.pid}/comm").read_bytes() == b"a\nmodmap: pid 1\n"
        out = tmp_path / "s.pb.gz"
        run_modmap("--pid", t.pid, "-f", "pprof", "-o", out)
        text = run_modmap("--pid", t.pid).stdout.splitlines()[0]
    finally:
        t.kill()
        t.wait()
    shown = go_tool_pprof_comments(out)
    assert ESC not in shown
    lines = shown.decode().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"modmap: pid {t.pid} (linux) "), lines
    assert lines[1].startswith("modmap: comm="), lines
    assert lines[2].startswith("modmap: a mapping table;"), lines
    assert "\\x1b[2Jx\\nmodmap: pid 1 (linux) forged/py" in lines[0], lines
    assert "comm=a\\nmodmap: pid 1 " in lines[1], lines
    # the same escapes as the text header's
    assert b"\\x1b[2Jx\\nmodmap: pid 1 (linux) forged/py" in text, text


# ---- defect 13: JIT names cut inside a character -----------------------------

PERF_MAP_SERVER = r"""
import os, sys
pid = os.getpid()
with open(f"/tmp/perf-{pid}.map", "wb") as f:
    f.write(bytes.fromhex(sys.argv[1]))
print("ready", pid, flush=True)
sys.stdin.read()
"""


def protoc_ok(raw):
    need("go")  # profile.proto comes with the Go package
    p = subprocess.run(["protoc", f"-I{PROTO.parent}", "--decode=perftools.profiles.Profile",
                        PROTO.name], input=raw, capture_output=True, timeout=60)
    return p


@pytest.mark.parametrize("char", ["\u20ac", "\u00e9", "\U0001f600"])
def test_defect13_jit_name_cut_at_character_boundary(tmp_path, char):
    """Defect 13: a perf-map name longer than the 1,024-byte bound whose
    bound falls inside a UTF-8 character is cut before that character:
    JSON holds valid UTF-8 (no lone surrogate), protoc decodes the pprof."""
    name = ("a" * 1023 + char * 4).encode()
    t = subprocess.Popen([sys.executable, "-c", PERF_MAP_SERVER,
                          (b"7000 100 " + name + b"\n").hex()], stdout=subprocess.PIPE,
                         stdin=subprocess.PIPE)
    try:
        assert t.stdout.readline().startswith(b"ready")
        doc = json.loads(run_modmap("--pid", t.pid, "--jit", "-f", "json").stdout)
        prof = tmp_path / "j.pb.gz"
        run_modmap("--pid", t.pid, "--jit", "-f", "pprof", "-o", prof)
    finally:
        t.kill()
        t.wait()
        Path(f"/tmp/perf-{t.pid}.map").unlink(missing_ok=True)
    [j] = doc["jit"]
    got = j["name"]
    got.encode("utf-8")  # strict: a lone surrogate raises
    assert got == "a" * 1023, (len(got.encode()), got[-3:])
    p = protoc_ok(gzip.decompress(prof.read_bytes()))
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert ("a" * 1023).encode() in p.stdout


# ---- defect 14: the outermost container ID -----------------------------------

def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return Path(left.split()[4])
    pytest.skip("[needs cgroup2] needs cgroup v2 mounted")


DELEGATED = r"""
import os, sys, time
inner = sys.argv[1]
os.mkdir(inner)
with open(os.path.join(inner, "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
print("ready", flush=True)
sys.stdin.read()
"""


@needs("root", "cgroup2")
def test_defect14_container_id_is_the_outermost(tmp_path):
    """Defect 14: an ordinary user's process in a delegated container cgroup
    creates docker-<its own 64 hex>.scope below it and moves in: the
    container ID stays the outer one, which only root could have made."""
    uid, gid = user_ids()
    root = cgroup2_root()
    outer_id, inner_id = secrets.token_hex(32), secrets.token_hex(32)
    top = root / f"modmap-test-{os.getpid()}"
    outer = top / f"docker-{outer_id}.scope"
    inner = outer / f"docker-{inner_id}.scope"
    t = None
    try:
        outer.mkdir(parents=True)
        # delegation (systemd's Delegate=yes): the directory and its files to the user
        for p in [outer, *[outer / n for n in ("cgroup.procs", "cgroup.threads",
                                              "cgroup.subtree_control")]]:
            os.chown(p, uid, gid)
        t = subprocess.Popen([*unprivileged_prefix(), sys.executable, "-c", DELEGATED,
                              str(inner)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE,
                             preexec_fn=lambda: (outer / "cgroup.procs").write_text(
                                 str(os.getpid())))
        line = t.stdout.readline()
        assert line.strip() == b"ready", t.stderr.read() if t.poll() is not None else line
        path = [l for l in Path(f"/proc/{t.pid}/cgroup").read_text().splitlines()
                if l.startswith("0::")][0][3:]
        assert path.endswith(f"/docker-{outer_id}.scope/docker-{inner_id}.scope"), path
        doc = json.loads(run_modmap("--pid", t.pid, "-f", "json").stdout)
        assert doc["cgroup"] == path
        assert doc["container_id"] == outer_id
    finally:
        if t:
            t.kill()
            t.wait()
        for d in (inner, outer, top):
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # the killed process leaves its cgroup


# ---- defect 16: decompression ------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def pb_len(num, body_len):
    return varint(num << 3 | 2) + varint(body_len)


def pb_int(num, v):
    return varint(num << 3) + varint(v)


def shared_string_bomb(path, mappings, string_len):
    """A gzip pprof snapshot whose every mapping names one long file name:
    small on disk, each name held once per mapping by a reader that copies."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = []
    for i in range(mappings):
        m = pb_int(1, i + 1) + pb_int(2, 0x1000 * (i + 1)) + \
            pb_int(3, 0x1000 * (i + 1) + 0x800) + pb_int(5, 1)
        parts.append(c.compress(pb_len(3, len(m)) + m))
    parts.append(c.compress(pb_len(6, 0) + pb_len(6, string_len) + b"/"))
    chunk = b"A" * (1 << 20)
    left = string_len - 1
    while left:
        k = min(left, len(chunk))
        parts.append(c.compress(chunk[:k]))
        left -= k
    parts.append(c.flush())
    path.write_bytes(b"".join(parts))


def run_measured(args, tmp_path):
    """modmap's exit status, stdout, stderr and peak RSS in MB, as
    /usr/bin/time measures it (the kernel's maxrss of modmap alone: a
    child forked from this big Python would count the parent's pages)."""
    spot = tmp_path / "maxrss"
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(spot), str(MODMAP),
                        *map(str, args)], capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr, int(spot.read_text().split()[-1]) / 1024


@needs("uninstrumented")
def test_defect16_shared_strings_held_once(tmp_path):
    """Defect 16: 30 mappings naming one 30 MB file name (a 30 KB gzip
    file) cost lookup the name once, not once per mapping (900 MB)."""
    bomb = tmp_path / "bomb.pb.gz"
    shared_string_bomb(bomb, 30, 30 << 20)
    assert bomb.stat().st_size < 100_000
    rc, out, err, mb = run_measured(["lookup", "--snapshot", bomb, "-f", "jsonl", "0x1400",
                                     "0x1e400"], tmp_path)
    assert rc == 0, err
    answers = [json.loads(l) for l in out.splitlines()]
    assert [a["file_offset"] for a in answers] == ["0x400", "0x400"]
    assert len(answers[1]["file"]) == 30 << 20
    assert mb < 200, f"peak RSS {mb:.0f} MB"


@needs("uninstrumented")
def test_defect16_max_size_bounds_decompressed_snapshot(tmp_path):
    """Defect 16: --max-size bounds what a snapshot decompresses to, not only
    the file: a 30 KB file that would be 30 MB is refused by --max-size 1M,
    with that reason, in little memory."""
    bomb = tmp_path / "bomb.pb.gz"
    shared_string_bomb(bomb, 1, 30 << 20)
    for cmd in (["lookup", "--snapshot", bomb, "0x1400"],
                ["attach", "--snapshot", bomb, bomb, "-o", tmp_path / "out.pb.gz"]):
        rc, out, err, mb = run_measured([*cmd, "--max-size", "1M"], tmp_path)
        assert rc == 1, err
        assert b"exceeds the limit" in err, err
        assert mb < 50, f"{cmd[0]}: peak RSS {mb:.0f} MB"
