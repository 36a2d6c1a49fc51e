"""Shared fixtures for modmap's end-to-end tests.

Every test runs the real build/modmap against real processes that the
fixtures start and stop. Fixture programs are built by `make` into
build/fixtures before pytest runs.

What a test needs from the machine (docs/testing.md, "Running anywhere")
------------------------------------------------------------------------
A test that needs something this machine may lack says so, and is skipped
with the reason where it is missing. Two ways, both from this file:

    @needs("root")                     # decorator: the marker needs("root")
    def test_x(...): ...
    pytestmark = needs("wine", "mingw")  # a whole module

    need("map_files")                  # inside a test or fixture

The names (REQUIREMENTS below, each with its probe and its reason):
root, map_files (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), ptrace
(CAP_SYS_PTRACE), mount_ns (unshare -m), chroot, userns, procmap_query,
anon_vma_name (CONFIG_ANON_VMA_NAME), yama_off (a sibling's memory without
CAP_SYS_PTRACE), cgroup2, wine, node, mingw, mingw32,
go, m32 (32-bit x86 builds), uninstrumented (a test that measures
modmap's memory, which ASan's shadow would distort). Add a name with its probe when a new test needs something new.

Environment:
  MODMAP_TEST_STRICT=1       a skip is a failure (CI: the machine has all);
  MODMAP_TEST_EXPECT_MISSING=a,b
                             under STRICT, tests needing a or b are
                             deselected, not failed -- and each of a, b
                             must really be missing, or the run fails;
  MODMAP_TEST_NOQUERY=1      modmap runs with tests/fixtures/noquery.c
                             preloaded: PROCMAP_QUERY fails ENOTTY, as on
                             kernels before 6.11 (procmap_query missing);
  MODMAP=path                the modmap binary to test (default
                             build/modmap; `make sanitize` points it at
                             build/asan/modmap);
  MODMAP_TEST_SANITIZED=1    that binary has ASan/UBSan (uninstrumented
                             missing).
"""
import base64
import ctypes
import errno
import functools
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

STRICT = os.environ.get("MODMAP_TEST_STRICT", "") not in ("", "0")
SANITIZED = os.environ.get("MODMAP_TEST_SANITIZED", "") not in ("", "0")
NOQUERY = os.environ.get("MODMAP_TEST_NOQUERY", "") not in ("", "0")
EXPECT_MISSING = {n for n in os.environ.get("MODMAP_TEST_EXPECT_MISSING", "").split(",") if n}
NOQUERY_SHIM = FIXTURES / "noquery.so"


def preload(*libs):
    """The LD_PRELOAD value for a child that preloads libs: with
    MODMAP_TEST_NOQUERY the noquery shim comes first."""
    return " ".join([str(NOQUERY_SHIM)] * NOQUERY + [str(l) for l in libs])


if NOQUERY:
    # Every child inherits it: modmap, however a test starts it, sees a
    # kernel without the ioctl. The shim touches nothing else.
    if not NOQUERY_SHIM.exists():
        raise RuntimeError(f"MODMAP_TEST_NOQUERY=1 but {NOQUERY_SHIM} is not built")
    os.environ["LD_PRELOAD"] = preload(*os.environ.get("LD_PRELOAD", "").split())


# ---- requirements: probes, skips, strict mode ------------------------------

def _cap_effective():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE = 19, 21, 40


def _has_cap(*caps):
    eff = _cap_effective()
    return any(eff >> c & 1 for c in caps)


def _runs(*argv):
    """True when argv runs and exits 0 (a probe: the real thing, tried)."""
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _has_procmap_query():
    if NOQUERY:
        return False
    # struct procmap_query is 104 bytes; size first, query_addr 0 with
    # COVERING_OR_NEXT_VMA finds the first mapping. ENOTTY: no such ioctl.
    buf = (ctypes.c_uint64 * 13)(104, 0x10)
    req = (3 << 30) | (104 << 16) | (ord("f") << 8) | 17    # _IOWR('f', 17, 104)
    fd = os.open("/proc/self/maps", os.O_RDONLY)
    try:
        rc = _libc().ioctl(fd, req, ctypes.addressof(buf))
        return rc == 0 or ctypes.get_errno() != errno.ENOTTY
    finally:
        os.close(fd)


def _has_anon_vma_name():
    libc = _libc()
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    PROT_RW, MAP_PRIVATE_ANON = 3, 0x22
    addr = libc.mmap(None, 4096, PROT_RW, MAP_PRIVATE_ANON, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        return False
    try:
        name = ctypes.create_string_buffer(b"modmap-probe")
        PR_SET_VMA, PR_SET_VMA_ANON_NAME = 0x53564D41, 0
        return libc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, 4096,
                          ctypes.addressof(name)) == 0
    finally:
        libc.munmap(addr, 4096)


def _has_cgroup2():
    with open("/proc/self/mounts") as f:
        return any(l.split()[2] == "cgroup2" for l in f if len(l.split()) > 2)


# name: (probe, reason given when the probe says no)
def _yama_lets_siblings_trace():
    try:
        return Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip() == "0"
    except FileNotFoundError:
        return True     # no Yama: ptrace rights are the user's own


def need_memory_of_a_sibling():
    """modmap reads a process the test started (not modmap's descendant)
    through /proc/PID/mem: CAP_SYS_PTRACE, or a Yama that allows it."""
    if not have("ptrace"):
        need("yama_off")


def _symbolize_built():
    """A build without elfutils says "symbolization not built" for ELF
    modules; asked here about an address of this Python's own code."""
    with open("/proc/self/maps") as f:
        addr = next(line.split("-")[0] for line in f if "x" in line.split()[1])
    p = subprocess.run([str(MODMAP), "lookup", "--pid", str(os.getpid()), "--symbolize", addr],
                       capture_output=True, timeout=60)
    return p.returncode == 0 and b"symbolization not built" not in p.stderr


REQUIREMENTS = {
    "root": (lambda: os.geteuid() == 0, "needs root"),
    "map_files": (lambda: _has_cap(CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE),
                  "needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (/proc/PID/map_files)"),
    "ptrace": (lambda: _has_cap(CAP_SYS_PTRACE),
               "needs CAP_SYS_PTRACE (another user's process)"),
    "yama_off": (_yama_lets_siblings_trace,
                 "needs Yama's ptrace_scope 0 (or no Yama): reading a process's memory "
                 "that is not one's descendant, without CAP_SYS_PTRACE"),
    "mount_ns": (lambda: _runs("unshare", "-m", "--propagation", "private", "true"),
                 "needs a mount namespace (unshare -m: CAP_SYS_ADMIN)"),
    "chroot": (lambda: _runs("chroot", "/", "true"), "needs chroot (CAP_SYS_CHROOT)"),
    "userns": (lambda: _runs("unshare", "-U", "true"), "needs user namespaces (unshare -U)"),
    "procmap_query": (_has_procmap_query,
                      "needs the PROCMAP_QUERY ioctl (Linux 6.11+)"
                      + ("; MODMAP_TEST_NOQUERY=1 hides it" if NOQUERY else "")),
    "anon_vma_name": (_has_anon_vma_name,
                      "needs CONFIG_ANON_VMA_NAME (prctl PR_SET_VMA_ANON_NAME)"),
    "cgroup2": (_has_cgroup2, "needs cgroup v2 mounted"),
    "wine": (lambda: shutil.which("wine") is not None, "needs Wine (wine on PATH)"),
    "node": (lambda: shutil.which("node") is not None, "needs Node.js (node on PATH)"),
    "jdk": (lambda: shutil.which("java") is not None and shutil.which("jcmd") is not None,
            "needs a JDK 17+ (java and jcmd on PATH; Debian: openjdk-17-jdk-headless)"),
    "pid_ns": (lambda: _runs("unshare", "--pid", "--fork", "true"),
               "needs a PID namespace (unshare --pid: CAP_SYS_ADMIN)"),
    "mingw": (lambda: shutil.which("x86_64-w64-mingw32-gcc") is not None,
              "needs mingw-w64 (x86_64-w64-mingw32-gcc)"),
    "mingw32": (lambda: shutil.which("i686-w64-mingw32-gcc") is not None,
                "needs 32-bit mingw-w64 (i686-w64-mingw32-gcc)"),
    "go": (lambda: shutil.which("go") is not None, "needs Go (go on PATH)"),
    "abigail": (lambda: shutil.which("abidiff") is not None and shutil.which("abidw") is not None,
                "needs libabigail's abidiff and abidw (Debian: abigail-tools)"),
    "mandoc": (lambda: shutil.which("mandoc") is not None, "needs mandoc (Debian: mandoc)"),
    "perf": (lambda: _runs("perf", "record", "-q", "-e", "cpu-clock:u", "-o", "/dev/null",
                           "--", "true"),
             "needs perf that can record (Debian: linux-perf; perf_event_paranoid)"),
    "uninstrumented": (lambda: not SANITIZED,
                       "measures memory: needs a modmap without sanitizers "
                       "(MODMAP_TEST_SANITIZED=1 says it has them)"),
    "llvm_symbolizer": (lambda: shutil.which("llvm-symbolizer") is not None,
                        "needs llvm-symbolizer (Debian: llvm), the symbolizers' oracle"),
    "symbolize": (lambda: _symbolize_built(),
                  "needs a modmap built with elfutils (Debian: libdw-dev; make SYMBOLIZE=1)"),
    "nosym": (lambda: (BUILD / "nosym" / "modmap").exists(),
              "needs build/nosym/modmap (make builds it with SYMBOLIZE=0)"),
    "debuginfod": (lambda: shutil.which("debuginfod") is not None,
                   "needs the debuginfod server (Debian: debuginfod)"),
    "xz": (lambda: shutil.which("xz") is not None, "needs xz (Debian: xz-utils)"),
    "m32": (lambda: (FIXTURES / "idmapper32").exists(),
            "needs 32-bit builds (gcc-multilib; make builds build/fixtures/idmapper32)"),
}


@functools.lru_cache(maxsize=None)
def have(name):
    """True when this machine has requirement `name` (probed once)."""
    probe, _ = REQUIREMENTS[name]
    return bool(probe())


def _reason(name):
    return f"[needs {name}] {REQUIREMENTS[name][1]}"


def needs(*names):
    """The marker `needs(names...)`: the test is skipped, with the reason,
    where the machine lacks any of them. Works as a decorator and as a
    module's pytestmark."""
    for n in names:
        if n not in REQUIREMENTS:
            raise KeyError(f"unknown requirement {n!r}; add it to REQUIREMENTS")
    return pytest.mark.needs(*names)


def need(*names):
    """Skips the running test (or fixture) unless the machine has all names."""
    for n in names:
        if not have(n):
            pytest.skip(_reason(n))


def _item_needs(item):
    return [n for m in item.iter_markers("needs") for n in m.args]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs(*names): what the test needs from the machine (conftest.py)")
    if STRICT:
        unknown = EXPECT_MISSING - REQUIREMENTS.keys()
        if unknown:
            raise pytest.UsageError(f"MODMAP_TEST_EXPECT_MISSING: unknown {sorted(unknown)}")
        present = sorted(n for n in EXPECT_MISSING if have(n))
        if present:
            raise pytest.UsageError(
                f"MODMAP_TEST_EXPECT_MISSING names {present}, which this machine has: "
                "the run would not test what it claims to")


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        names = _item_needs(item)
        if STRICT and any(n in EXPECT_MISSING for n in names):
            drop.append(item)
            continue
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if STRICT and not items:
        raise pytest.UsageError("MODMAP_TEST_STRICT: no test left to run")


def pytest_runtest_setup(item):
    for n in _item_needs(item):
        if not have(n):
            pytest.skip(_reason(n))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """MODMAP_TEST_STRICT=1: a skip fails the test, unless it is a need()
    for a requirement listed in MODMAP_TEST_EXPECT_MISSING."""
    outcome = yield
    rep = outcome.get_result()
    if not STRICT or not rep.skipped or hasattr(rep, "wasxfail"):
        return
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    if any(reason.startswith(f"Skipped: [needs {n}]") or reason.startswith(f"[needs {n}]")
           for n in EXPECT_MISSING):
        return
    rep.outcome = "failed"
    rep.longrepr = f"MODMAP_TEST_STRICT=1 and the test was skipped: {reason}"


def pytest_collectreport(report):
    if STRICT and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"MODMAP_TEST_STRICT=1 and a module was skipped: {report.longrepr}"


def static_lib_deps():
    """What build/libmodmap.a needs linked after it: the libraries the
    Makefile finds with pkg-config (zlib; libcbor, Nettle and libdw when present)."""
    mods = [m for m in ("zlib", "libcbor", "nettle")
            if subprocess.run(["pkg-config", "--exists", m]).returncode == 0]
    if "-DHAVE_ELFUTILS" in (BUILD / "flags").read_text():
        mods.append("libdw")     # symbolization (elfutils)
    out = subprocess.run(["pkg-config", "--static", "--libs", *mods], capture_output=True,
                         text=True)
    return out.stdout.split() or ["-lz"]


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


def wait_zombie(pid, deadline=10):
    """Waits until pid's main thread is a zombie (its other threads live on)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return
        time.sleep(0.01)
    raise AssertionError(f"pid {pid}'s leader never became a zombie")


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
    need("go")
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
    need("go")
    p = subprocess.run([str(FIXTURES / "pprofedit"), *map(str, args)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def dump(path):
    """The profile as google/pprof reads it (Parse, then CheckValid)."""
    return json.loads(pprofedit("dump", path))


# ---- an ordinary user -------------------------------------------------------

TEST_USER = "modmap-test"
# A second ordinary user: the victim whose file the first one (the
# attacker of tests/e2e/test_trust_files.py) tries to make root reveal.
TEST_USER2 = "modmap-test2"


def ordinary_user(name=TEST_USER):
    """(argv prefix, uid, gid): runs a command as the ordinary user name,
    with no capabilities at all (created on first use). Skips where that
    cannot be done: not root, or no useradd/setpriv."""
    import pwd
    if os.geteuid() != 0:
        need("root")   # creating and switching to a test user
    for tool in ("useradd", "setpriv"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed: cannot run as a test user")
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        p = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", name], capture_output=True)
        try:    # another run may have made it meanwhile
            pw = pwd.getpwnam(name)
        except KeyError:
            pytest.skip(f"cannot create user {name}: {p.stderr.decode().strip()}")
    prefix = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
              "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return prefix, pw.pw_uid, pw.pw_gid


def unprivileged_prefix():
    """argv prefix that runs a command as the ordinary user TEST_USER, with
    no capabilities at all (created on first use). Skips where that cannot
    be done: not root, or no useradd/setpriv."""
    return ordinary_user(TEST_USER)[0]


class User:
    """An ordinary user a test acts as: run() and start() its commands."""

    def __init__(self, name):
        self.name = name
        self.prefix, self.uid, self.gid = ordinary_user(name)

    def run(self, *argv, check=True, timeout=60):
        p = subprocess.run([*self.prefix, *map(str, argv)], capture_output=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"as {self.name}: {' '.join(map(str, argv))} exited "
                                 f"{p.returncode}: {p.stderr.decode(errors='replace')}")
        return p

    def sh(self, script, check=True):
        return self.run("sh", "-ec", script, check=check)


@pytest.fixture
def attacker():
    """The ordinary user TEST_USER, as an attacker of root's modmap."""
    return User(TEST_USER)


@pytest.fixture
def victim():
    """A second ordinary user, TEST_USER2, whose files the attacker is after."""
    return User(TEST_USER2)


@pytest.fixture
def shared_dir():
    """A directory every user may write, sticky (mode 1777, like /tmp), in
    a root-owned directory every user may enter; removed afterwards."""
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="modmap-shared-"))
    base.chmod(0o755)
    shared = base / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    yield shared
    shutil.rmtree(base, ignore_errors=True)


def cbor_whole(data):
    """data decoded by python3-cbor2 as one CBOR item that is the whole
    input: cbor2.loads would return the first item and ignore bytes after
    it, so a writer that appends garbage (or a second item) would pass."""
    import io
    import cbor2
    fp = io.BytesIO(data)
    doc = cbor2.CBORDecoder(fp).decode()
    assert fp.tell() == len(data), \
        f"CBOR: {len(data) - fp.tell()} bytes after the item (of {len(data)})"
    return doc
