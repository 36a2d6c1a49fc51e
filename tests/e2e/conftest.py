"""Shared fixtures for modmap's end-to-end tests.

Every test runs the real build/modmap against real processes that the
fixtures start and stop. Fixture programs are built by `make` into
build/fixtures before pytest runs.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
MODMAP = Path(os.environ.get("MODMAP", BUILD / "modmap"))
FIXTURES = BUILD / "fixtures"
GOCODE = Path("/usr/share/gocode")


def run_modmap(*args, check=True, input=None, **kw):
    """Runs modmap with args; returns the CompletedProcess (bytes)."""
    p = subprocess.run([str(MODMAP), *map(str, args)], capture_output=True,
                       input=input, timeout=120, **kw)
    if check and p.returncode != 0:
        raise AssertionError(
            f"modmap {' '.join(map(str, args))} exited {p.returncode}: "
            f"{p.stderr.decode(errors='replace')}")
    return p


def modmap_json(*args, **kw):
    return json.loads(run_modmap(*args, "--format", "json", **kw).stdout)


@pytest.fixture
def modmap():
    return run_modmap


class Proc:
    """A started fixture process; `ready` holds what it printed on startup."""

    def __init__(self, popen, ready):
        self.popen = popen
        self.pid = popen.pid
        self.ready = ready

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)


def start(argv, ready_line=True, cwd=None, env=None):
    """Starts argv; when ready_line, waits for its first stdout line."""
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                         stdin=subprocess.PIPE, cwd=cwd, env=env)
    ready = b""
    if ready_line:
        ready = p.stdout.readline()
        if not ready:
            p.wait(timeout=10)
            raise AssertionError(f"{argv[0]} exited {p.returncode} before ready")
    return Proc(p, ready.decode(errors="surrogateescape").strip())


@pytest.fixture
def spawn():
    """spawn(argv, ...) starts a process that is killed after the test."""
    procs = []

    def _spawn(argv, **kw):
        proc = start(argv, **kw)
        procs.append(proc)
        return proc

    yield _spawn
    for proc in procs:
        proc.stop()


def wait_asleep(pid):
    """Waits until pid sits in sleep's nanosleep, its module map final:
    right after exec the dynamic loader is still mapping libraries."""
    for _ in range(1000):
        try:
            with open(f"/proc/{pid}/syscall") as f:
                # clock_nanosleep (230) or nanosleep (35) on x86-64
                if f.read().split()[0] in ("230", "35"):
                    return
        except (OSError, IndexError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never went to sleep")


@pytest.fixture
def sleeper(spawn):
    """A plain process (sleep), settled, to snapshot."""
    proc = spawn(["sleep", "600"], ready_line=False)
    wait_asleep(proc.pid)
    return proc


def proc_maps(pid):
    """Parses /proc/PID/maps the plain way: a list of dicts, names raw."""
    out = []
    with open(f"/proc/{pid}/maps", "rb") as f:
        for line in f.read().splitlines():
            fields = line.split(None, 5)
            start, limit = (int(x, 16) for x in fields[0].split(b"-"))
            name = fields[5].decode("utf-8", "surrogateescape") if len(fields) > 5 else ""
            out.append({
                "start": start, "limit": limit, "perms": fields[1].decode(),
                "offset": int(fields[2], 16), "dev": fields[3].decode(),
                "inode": int(fields[4]), "name": name,
            })
    return out


def as_int(hexstr):
    assert hexstr.startswith("0x"), hexstr
    return int(hexstr, 16)


# ---- Go: google/pprof's parser, GOPATH mode, no network --------------------

def go_env():
    env = dict(os.environ)
    env.update(GO111MODULE="off", GOPATH=str(GOCODE), GOFLAGS="",
               GOPROXY="off", GOCACHE=str(BUILD / "gocache"), CGO_ENABLED="0")
    return env


@pytest.fixture(scope="session")
def pprofcheck():
    out = BUILD / "go" / "pprofcheck"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["go", "build", "-o", str(out), "main.go"],
                   cwd=ROOT / "tests/e2e/pprofcheck", env=go_env(), check=True,
                   timeout=300)
    return out


def go_parse(pprofcheck, path, outside_ok=False):
    """google/pprof's view of the profile at path (see pprofcheck/main.go).
    Unless outside_ok, every location must lie inside its mapping."""
    p = subprocess.run([str(pprofcheck), str(path)], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    r = json.loads(p.stdout)
    for m in r["Mappings"]:
        m["File"] = base64.b64decode(m["File"] or "")
        m["BuildID"] = base64.b64decode(m["BuildID"] or "")
    r["Comments"] = [base64.b64decode(c) for c in r["Comments"] or []]
    r["Locations"] = r["Locations"] or []
    if not outside_ok:
        assert not r["Outside"], r["Outside"]
    return r


def pprofedit(*args):
    """Runs build/fixtures/pprofedit (google/pprof's profile package)."""
    p = subprocess.run([str(FIXTURES / "pprofedit"), *map(str, args)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def dump(path):
    """The profile as google/pprof reads it (Parse, then CheckValid)."""
    return json.loads(pprofedit("dump", path))


# ---- an ordinary user -------------------------------------------------------

TEST_USER = "modmap-test"


def unprivileged_prefix():
    """argv prefix that runs a command as the ordinary user TEST_USER, with
    no capabilities at all (created on first use). Skips where that cannot
    be done: not root, or no useradd/setpriv."""
    import pwd
    if os.geteuid() != 0:
        pytest.skip("creating and switching to a test user needs root")
    for tool in ("useradd", "setpriv"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed: cannot run as a test user")
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        p = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", TEST_USER], capture_output=True)
        try:    # another run may have made it meanwhile
            pw = pwd.getpwnam(TEST_USER)
        except KeyError:
            pytest.skip(f"cannot create user {TEST_USER}: {p.stderr.decode().strip()}")
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
