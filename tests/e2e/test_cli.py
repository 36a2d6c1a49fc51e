"""The command line: errors, exit status, atomic output, --all."""
import json
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import FIXTURES, MODMAP, NOQUERY_SHIM, needs, preload, run_modmap

# Root becomes nobody to meet a process it may not read; an ordinary user
# already is such a caller.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
    if os.geteuid() == 0 else []


def others_process():
    """A live process of another user, which an unprivileged caller may not
    read: the root-owned init, or any process whose owner is not us."""
    me = os.geteuid() if os.geteuid() != 0 else 65534
    for d in sorted(os.listdir("/proc"), key=lambda d: (len(d), d)):
        if not d.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{d}")
            with open(f"/proc/{d}/stat") as f:
                kthread = int(f.read().rsplit(")", 1)[1].split()[6]) & 0x00200000
        except OSError:
            continue
        if st.st_uid != me and not kthread:
            return int(d)
    raise AssertionError("no process of another user to be refused")


def stderr_lines(p):
    return p.stderr.decode().splitlines()


def test_no_such_process():
    p = run_modmap("--pid", "99999999", check=False)
    assert p.returncode == 1
    assert stderr_lines(p) == ["modmap: pid 99999999: no such process"]
    assert p.stdout == b""


def test_permission_denied():
    pid = others_process()
    p = subprocess.run(NOBODY + [str(MODMAP), "--pid", str(pid)], capture_output=True)
    assert p.returncode == 1
    assert stderr_lines(p) == [
        f"modmap: pid {pid}: permission denied (reading /proc/{pid}/maps needs ptrace access)"]


def test_kernel_thread():
    # kthreadd is PID 2 on every Linux system with a real init.
    with open("/proc/2/stat") as f:
        assert "(kthreadd)" in f.read()
    p = run_modmap("--pid", "2", check=False)
    assert p.returncode == 1
    assert stderr_lines(p) == ["modmap: pid 2: kernel thread (it has no memory map)"]


def test_zombie():
    child = subprocess.Popen(["true"])
    for _ in range(1000):
        with open(f"/proc/{child.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    else:
        child.wait()
        raise AssertionError(f"pid {child.pid} never became a zombie")
    try:
        p = run_modmap("--pid", child.pid, check=False)
        assert p.returncode == 1
        assert stderr_lines(p) == [f"modmap: pid {child.pid}: process has exited (zombie)"]
    finally:
        child.wait()


def test_one_failure_others_still_printed(sleeper):
    p = run_modmap("--pid", sleeper.pid, "--pid", "99999999", "--format", "json", check=False)
    assert p.returncode == 1
    docs = json.loads(p.stdout)
    assert [d["pid"] for d in docs] == [sleeper.pid]
    assert stderr_lines(p) == ["modmap: pid 99999999: no such process"]


@pytest.mark.parametrize("args,msg", [
    ([], "give one of --pid PID, --self or --all"),
    (["--pid", "abc"], "invalid PID 'abc'"),
    (["--pid", "0"], "invalid PID '0'"),
    (["--self", "--format", "xml"], "unknown format 'xml'"),
    (["--self", "--build-id", "sha"], "unknown build-ID mode 'sha'"),
    (["--self", "--mappings", "some"], "unknown mapping set 'some'"),
    (["--self", "--source", "bpf"], "unknown source 'bpf'"),
    (["--self", "--bogus"], "unknown argument '--bogus'"),
    (["--self", "--all"], "give one of --pid PID, --self or --all"),
    (["--self", "-o"], "option '-o' needs a value"),
])
def test_usage_errors(args, msg):
    p = run_modmap(*args, check=False)
    assert p.returncode == 2
    # Two lines, as docs/ say: what is wrong, then where help is.
    assert len(stderr_lines(p)) == 2
    assert stderr_lines(p)[0].startswith("modmap: " + msg)
    assert stderr_lines(p)[1] == "Try 'modmap --help'."
    assert p.stdout == b""


def test_attach_synopsis_is_the_same_everywhere():
    """`modmap --help`, `modmap attach --help` and the docs give attach one
    synopsis."""
    from conftest import ROOT
    own = run_modmap("attach", "--help").stdout.decode().splitlines()[0]
    assert own.startswith("usage: modmap attach ")
    synopsis = own.removeprefix("usage: ")
    assert "       " + synopsis in run_modmap("--help").stdout.decode().splitlines()
    for doc in ("README.md", "docs/attach.md"):
        assert synopsis in (ROOT / doc).read_text(), doc


def test_bare_pid_suggests_the_option():
    p = run_modmap("1234", check=False)
    assert p.returncode == 2
    assert stderr_lines(p) == ["modmap: unknown argument '1234' (did you mean --pid 1234?)",
                               "Try 'modmap --help'."]


@pytest.mark.parametrize("args", [["--help"], ["--self", "--help"],
                                  ["--pid", "1", "-f", "json", "--help"], ["-h", "--bogus"]])
def test_help_anywhere_on_the_line(args):
    p = run_modmap(*args)
    assert p.stdout.startswith(b"usage: modmap ") and p.stderr == b""


def test_option_spellings(sleeper):
    a = run_modmap("-p", sleeper.pid, "-fjson").stdout
    b = run_modmap(f"--pid={sleeper.pid}", "--format=json").stdout
    assert json.loads(a)["mappings"] == json.loads(b)["mappings"]


def test_help_and_version():
    assert b"--pid PID" in run_modmap("--help").stdout
    assert run_modmap("--version").stdout.startswith(b"modmap ")


def test_output_is_atomic_and_kept_on_failure(tmp_path, sleeper):
    out = tmp_path / "maps.json"
    run_modmap("--pid", sleeper.pid, "-f", "json", "-o", out)
    assert json.loads(out.read_text())["pid"] == sleeper.pid
    before = out.read_bytes()
    # A failed snapshot writes nothing: the old file stays, no temp file.
    p = run_modmap("--pid", "99999999", "-o", out, check=False)
    assert p.returncode == 1
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["maps.json"]
    fresh = tmp_path / "new.txt"
    assert run_modmap("--pid", "99999999", "-o", fresh, check=False).returncode == 1
    assert not fresh.exists()


@pytest.mark.parametrize("fmt", ["json", "text", "pprof"])
def test_output_over_a_longer_file(tmp_path, sleeper, fmt):
    """-o over an existing, longer regular file: a new file is renamed over
    it, so nothing of the old tail is left, and a reader holding the old
    file (here a hard link) still sees it whole."""
    out, link = tmp_path / "out", tmp_path / "old"
    old = b"x" * (1 << 20)
    out.write_bytes(old)
    os.link(out, link)
    old_inode = out.stat().st_ino
    run_modmap("--pid", sleeper.pid, "-f", fmt, "-o", out)
    want = run_modmap("--pid", sleeper.pid, "-f", fmt).stdout if fmt == "text" else None
    data = out.read_bytes()
    assert len(data) < len(old) and b"xxxx" not in data
    if fmt == "json":
        assert json.loads(data)["pid"] == sleeper.pid
    elif fmt == "text":
        assert data.splitlines()[0] == want.splitlines()[0]
    else:
        import gzip
        gzip.decompress(data)  # the whole file is one gzip stream
    assert out.stat().st_ino != old_inode
    assert link.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["old", "out"]


def test_output_into_missing_directory(tmp_path):
    p = run_modmap("--self", "-o", tmp_path / "no" / "such" / "file", check=False)
    assert p.returncode == 1
    assert stderr_lines(p)[0].startswith(f"modmap: {tmp_path}/no/such/file: ")


def test_all_as_root_lists_everyone(sleeper):
    p = run_modmap("--all", "-f", "json")
    docs = json.loads(p.stdout)
    pids = [d["pid"] for d in docs]
    assert sleeper.pid in pids and pids == sorted(pids)
    # Kernel threads have no module map and are left out silently.
    assert 2 not in pids
    # Only processes that cannot be read are named (a sandbox's init may
    # refuse even root); vanished ones and kernel threads are not.
    for line in stderr_lines(p):
        assert re.fullmatch(r"modmap: pid (\d+): permission denied \(reading "
                            r"/proc/\1/maps needs ptrace access\)", line), line


def test_all_as_nobody_names_the_unreadable(sleeper):
    other = others_process()
    proc = subprocess.Popen(NOBODY + [str(MODMAP), "--all", "-f", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert p.returncode == 0
    docs = json.loads(p.stdout)
    # What nobody may read: modmap itself (setpriv execs it in place).
    assert isinstance(docs, list)
    assert proc.pid in [d["pid"] for d in docs]
    # Another user's process cannot be read and is named: as root (become
    # nobody) the root-owned sleeper too, as an ordinary user our own
    # sleeper is read.
    denied = [re.fullmatch(r"modmap: pid (\d+): permission denied \(reading "
                           r"/proc/\1/maps needs ptrace access\)", line)
              for line in stderr_lines(p)]
    unreadable = {int(m[1]) for m in denied if m}
    assert other in unreadable
    assert (sleeper.pid in unreadable) == (os.geteuid() == 0)
    assert (sleeper.pid in [d["pid"] for d in docs]) == (os.geteuid() != 0)


@needs("procmap_query")
def test_source_maps_forced(sleeper):
    q = json.loads(run_modmap("--pid", sleeper.pid, "--source", "query", "-f", "json").stdout)
    m = json.loads(run_modmap("--pid", sleeper.pid, "--source", "maps", "-f", "json").stdout)
    assert q["mappings"] == m["mappings"]


def test_output_to_special_files_writes_in_place(tmp_path, sleeper):
    # -o /dev/null must not replace the device with a regular file. Root
    # makes a node of its own to stand in for it, so a regression cannot
    # break the machine; an ordinary user cannot make one, nor replace the
    # real /dev/null (a regression then fails the write), so uses that.
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        null = "/dev/null"
    run_modmap("--pid", sleeper.pid, "-o", null)
    assert stat.S_ISCHR(os.stat(null).st_mode)
    if null != "/dev/null":
        os.unlink(null)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # The reader holds the FIFO open before modmap runs (a reader still
    # starting would be "a FIFO with no reader": modmap never waits). One
    # sleeper's JSON fits the pipe's buffer, so modmap finishes first.
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(rfd, True)
        run_modmap("--pid", sleeper.pid, "-f", "json", "-o", fifo)
        chunks = []
        while chunk := os.read(rfd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(rfd)
    assert json.loads(b"".join(chunks))["pid"] == sleeper.pid
    assert sorted(os.listdir(tmp_path)) == ["fifo"]


def test_output_through_symlink_replaces_the_target(tmp_path, sleeper):
    target = tmp_path / "real.json"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    run_modmap("--pid", sleeper.pid, "-f", "json", "-o", link)
    assert link.is_symlink()
    assert json.loads(target.read_text())["pid"] == sleeper.pid
    assert target.stat().st_mode & 0o777 == 0o640


def run_killing_orphan(when, *args):
    """Runs modmap on an orphan sleep (reaped by init at once) that the
    killshim kills on cue: when is MODMAP_TEST_KILL (as modmap starts to
    read its maps) or MODMAP_TEST_KILL_LISTED (once --all has listed it).
    Returns the orphan's PID and modmap's CompletedProcess."""
    sh = subprocess.run(["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"],
                        capture_output=True, text=True, check=True)
    pid = int(sh.stdout)
    env = dict(os.environ, LD_PRELOAD=preload(FIXTURES / "killshim.so"), **{when: str(pid)})
    argv = [str(MODMAP)] + [str(a).replace("PID", str(pid)) for a in args]
    try:
        return pid, subprocess.run(argv, capture_output=True, env=env, timeout=120)
    finally:
        subprocess.run(["kill", "-9", str(pid)], capture_output=True)


@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")),
                                    "maps"])
def test_process_exits_while_read(source):
    pid, p = run_killing_orphan("MODMAP_TEST_KILL", "--pid", "PID", "--source", source)
    assert p.returncode == 1
    assert stderr_lines(p) == [f"modmap: pid {pid}: process exited while being read"]
    assert p.stdout == b""


def test_output_dash_is_standard_output(sleeper, tmp_path):
    p = run_modmap("--pid", sleeper.pid, "-f", "json", "-o", "-", cwd=tmp_path)
    assert json.loads(p.stdout)["pid"] == sleeper.pid
    assert os.listdir(tmp_path) == []


def test_all_skips_a_process_gone_after_listing():
    """--all: a process that exits between the listing and its reading is not
    among those asked for: no message, exit 0."""
    pid, p = run_killing_orphan("MODMAP_TEST_KILL_LISTED", "--all", "-f", "json")
    assert p.returncode == 0, p.stderr
    assert f"pid {pid}:".encode() not in p.stderr
    assert pid not in [d["pid"] for d in json.loads(p.stdout)]


def test_kernel_without_procmap_query(sleeper):
    """Before Linux 6.11 the ioctl fails ENOTTY (the noquery shim makes it
    so): --source query says so in one line, exit 1; auto falls back to
    the text and gives what --source maps gives."""
    env = dict(os.environ, LD_PRELOAD=str(NOQUERY_SHIM))
    p = run_modmap("--pid", sleeper.pid, "--source", "query", check=False, env=env)
    assert p.returncode == 1 and p.stdout == b""
    assert stderr_lines(p) == [f"modmap: pid {sleeper.pid}: this kernel has no PROCMAP_QUERY "
                               "(Linux 6.11+); --source maps reads the text instead"]
    auto = json.loads(run_modmap("--pid", sleeper.pid, "-f", "json", env=env).stdout)
    text = json.loads(run_modmap("--pid", sleeper.pid, "-f", "json", "--source", "maps").stdout)
    assert auto["mappings"] == text["mappings"]
