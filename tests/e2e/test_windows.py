"""modmap.exe under Wine: the Toolhelp32 backend against a real Windows process.

One Wine prefix (build/wineprefix) and one persistent wineserver serve the
whole session, so every Wine program here (the winfix.exe target, modmap.exe,
the Go checker) runs in the same Windows "machine" and sees the same PIDs.
Every test here needs Wine, mingw-w64 and Go (skipped where one is missing).
"""
import gzip
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, dump, go_env, go_parse, needs, pprofedit, run_modmap

pytestmark = needs("wine", "mingw", "go")

WIN = BUILD / "win64"
MODMAP_EXE = WIN / "modmap.exe"
WINFIX = WIN / "fixtures" / "winfix.exe"
TOOLHELP_ERRORS = WIN / "fixtures" / "toolhelp_errors.exe"
FIXDLL = WIN / "fixtures" / "fixdll.dll"
GOMTIME = WIN / "fixtures" / "gomtime.exe"
WEXEC = WIN / "fixtures" / "wexec.exe"
PREFIX = BUILD / "wineprefix"
WORK = BUILD / "wintest"

# Distinct times for DLL copies: northern summer and winter, with and
# without a fraction, so offsets, abbreviations and Go's fraction rule all
# show. FILETIME has 100 ns steps, so fractions are multiples of 100 ns.
DATED = {
    "fixdll_summer.dll": 1625402096_123456700,   # 2021-07-04 12:34:56.1234567 UTC
    "fixdll_winter.dll": 1610712000_000000000,   # 2021-01-15 12:00:00 UTC
    "fixdll_frac.dll": 1700000000_500000000,     # 2023-11-14 22:13:20.5 UTC
}
# Zones Go names from its table, with daylight saving on either side of
# the equator, without it, with half- and quarter-hour offsets, one Go
# names by its offset ("+1245"), and a POSIX rule no Olson zone spells.
ZONES = ["America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC",
         "Pacific/Chatham", "XYZ+4ABC,M3.2.0,M11.1.0"]


def wine_env(tz=None):
    # MODMAP_WINEDEBUG=err+all (say) shows what Wine itself reports.
    env = dict(os.environ, WINEPREFIX=str(PREFIX),
               WINEDEBUG=os.environ.get("MODMAP_WINEDEBUG", "-all"),
               WINEDLLOVERRIDES="mscoree,mshtml=")
    env.pop("DISPLAY", None)
    if tz is not None:
        env["TZ"] = tz
    return env


def winpath(p):
    """The Windows name Wine gives a Unix path (drive Z: is /)."""
    return "Z:" + str(Path(p).resolve()).replace("/", "\\")


@pytest.fixture(scope="session")
def wine():
    """Boots the prefix once and keeps one wineserver for the session."""
    PREFIX.mkdir(parents=True, exist_ok=True)   # wineserver needs it first
    env = wine_env()
    # A server left by an earlier run (or by hand) may be on its way out;
    # start from our own, persistent one, so it never exits between programs.
    subprocess.run(["wineserver", "-k"], env=env, timeout=60, capture_output=True)
    subprocess.run(["wineserver", "-w"], env=env, timeout=60, capture_output=True)
    subprocess.run(["wineserver", "-p"], env=env, timeout=60, check=True)
    subprocess.run(["wineboot", "-i"], env=env, check=True, timeout=600,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield
    subprocess.run(["wineserver", "-k"], env=env, timeout=60)


def run_exe(exe, *args, tz=None, check=False, cwd=None, timeout=120):
    argv = ["wine", str(exe), *map(str, args)]
    p = subprocess.run(argv, env=wine_env(tz), capture_output=True, timeout=timeout, cwd=cwd)
    # modmap.exe never fails without saying why on stderr: an exit 1 with no
    # output at all is Wine failing to run it, and fails the test as such.
    assert not (exe == MODMAP_EXE and p.returncode == 1 and not p.stdout and not p.stderr), \
        (f"wine {exe.name} {' '.join(map(str, args))}: exit 1 and no output, so Wine did "
         "not run modmap.exe to the end; MODMAP_WINEDEBUG=err+all shows Wine's messages")
    if check:
        p.check_returncode()
    return p


def modmap(*args, tz=None, cwd=None):
    return run_exe(MODMAP_EXE, *args, tz=tz, cwd=cwd)


def modmap_json(*args, tz=None):
    p = modmap(*args, "--format", "json", tz=tz)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return json.loads(p.stdout)


class Target:
    """winfix.exe running under Wine, and what it says about itself."""

    def __init__(self, popen):
        self.popen = popen
        self.mods = []          # (base, size, path) from GetModuleInformation
        self.toolhelp = {}      # base -> length of Toolhelp32's name
        for raw in popen.stdout:
            line = raw.decode("utf-8").rstrip("\r\n")
            word, _, rest = line.partition(" ")
            if word == "pid":
                self.pid = int(rest)
            elif word == "suspended":
                self.suspended = int(rest)
            elif word == "answer":
                self.answer = int(rest, 16)
            elif word == "mod":
                base, size, path = rest.split(" ", 2)
                self.mods.append((int(base, 16), int(size, 16), path))
            elif word == "toolhelp":
                base, n = rest.split(" ")
                self.toolhelp[int(base, 16)] = int(n)
            elif word == "ready":
                return
        popen.wait(timeout=30)
        raise AssertionError(f"winfix.exe exited {popen.returncode}: "
                             f"{popen.stderr.read().decode(errors='replace')}")

    def path_of(self, name):
        return next(p for _, _, p in self.mods if p.lower().endswith("\\" + name))


@pytest.fixture(scope="session")
def dlls(wine):
    """Copies of fixdll.dll: one under a path of more than 260 characters
    (loaded through \\\\?\\), one with a non-ASCII name, and dated ones."""
    shutil.rmtree(WORK, ignore_errors=True)
    deep = WORK.joinpath(*(c * 60 for c in "abcd"))
    deep.mkdir(parents=True)
    long_dll = deep / "fixdll_long.dll"
    shutil.copy(FIXDLL, long_dll)
    assert len(winpath(long_dll)) > 260
    uni = WORK / "ünïcødé-模块"
    uni.mkdir()
    uni_dll = uni / "fixdll_uni.dll"
    shutil.copy(FIXDLL, uni_dll)
    dated = []
    for name, ns in DATED.items():
        shutil.copy(FIXDLL, WORK / name)
        os.utime(WORK / name, ns=(ns, ns))
        dated.append(WORK / name)
    return {"long": long_dll, "uni": uni_dll, "dated": dated}


@pytest.fixture(scope="session")
def target(wine, dlls):
    args = ["\\\\?\\" + winpath(dlls["long"]), winpath(dlls["uni"])]
    args += [winpath(p) for p in dlls["dated"]]
    p = subprocess.Popen(["wine", str(WINFIX), *args], env=wine_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        yield Target(p)
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---- the module map --------------------------------------------------------

def test_every_module_with_its_exact_range(target):
    doc = modmap_json("--pid", target.pid)
    assert doc["pid"] == target.pid and doc["os"] == "windows"
    got = [(int(m["start"], 16), int(m["limit"], 16), m["file"]) for m in doc["mappings"]]
    want = [(base, base + size, path) for base, size, path in target.mods]
    assert sorted(got) == sorted(want)
    for m in doc["mappings"]:
        assert m["offset"] == "0x0"


def test_main_executable_first(target):
    doc = modmap_json("--pid", target.pid)
    first = doc["mappings"][0]
    assert first["main"] is True and first["file"] == winpath(WINFIX)
    assert doc["exe"] == winpath(WINFIX)
    assert not any(m["main"] for m in doc["mappings"][1:])


def test_long_path_recovered_whole(target, dlls):
    whole = winpath(dlls["long"])
    base = next(b for b, _, p in target.mods if p == whole)
    # Wine's Toolhelp32 really cuts this name, so the recovery is exercised.
    assert target.toolhelp[base] == 259
    doc = modmap_json("--pid", target.pid)
    m = next(m for m in doc["mappings"] if int(m["start"], 16) == base)
    assert m["file"] == whole
    assert "build_id_error" not in m
    assert m["build_id"].startswith(whole)


def test_json_is_ascii_and_keeps_non_ascii_paths(target, dlls):
    p = modmap("--pid", target.pid, "--format", "json")
    assert p.returncode == 0
    p.stdout.decode("ascii")        # raises on any non-ASCII byte
    assert b"\\u00fcn\\u00efc\\u00f8d\\u00e9-\\u6a21\\u5757" in p.stdout
    files = [m["file"] for m in json.loads(p.stdout)["mappings"]]
    assert winpath(dlls["uni"]) in files


def test_text_lists_every_module(target):
    p = modmap("--pid", target.pid)
    assert p.returncode == 0
    lines = p.stdout.decode().splitlines()
    # Backslashes are Windows's separator: not doubled as on Linux.
    assert lines[0] == f"pid {target.pid} (windows) {winpath(WINFIX)}: " \
                       f"{len(target.mods)} mappings"
    # Windows has no namespaces or cgroups: comm is the exe's name.
    assert lines[1] == f"comm={WINFIX.name} ns_pid={target.pid} container_id=- cgroup=-"
    assert len(lines) == 3 + len(target.mods)
    for (base, size, path), line in zip(target.mods, lines[3:]):
        assert line.split()[:3] == [hex(base), hex(base + size), "0x0"]
        assert line.endswith(" " + path)


def test_self(wine):
    doc = modmap_json("--self")
    assert doc["mappings"][0]["file"] == winpath(MODMAP_EXE)
    assert doc["mappings"][0]["main"] is True


def test_several_pids_and_a_missing_one(target):
    p = modmap("--pid", target.pid, "--pid", "99996", "--format", "json")
    assert p.returncode == 1
    assert p.stderr.decode().strip() == "modmap: pid 99996: no such process"
    doc = json.loads(p.stdout)
    assert isinstance(doc, list) and [d["pid"] for d in doc] == [target.pid]


def test_all_includes_the_target(target):
    p = modmap("--all", "--format", "json")
    doc = json.loads(p.stdout)
    pids = [d["pid"] for d in doc]
    assert target.pid in pids and pids == sorted(pids)
    for d in doc:
        assert d["os"] == "windows" and d["mappings"][0]["main"]
        assert d["exe"] == d["mappings"][0]["file"]
        assert d["exe"].lower().endswith(".exe")
    # The suspended child cannot be read; --all names it and goes on.
    assert f"modmap: pid {target.suspended}: " in p.stderr.decode()
    assert p.returncode == 0


def test_output_file_with_non_ascii_name(target, tmp_path):
    p = modmap("--pid", target.pid, "-f", "json", "-o", "snäp-模.json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b""
    assert [f.name for f in tmp_path.iterdir()] == ["snäp-模.json"]
    assert json.loads((tmp_path / "snäp-模.json").read_text())["pid"] == target.pid


def test_output_file_error_leaves_nothing(target, tmp_path):
    """A directory that does not exist: one line with the reason in words
    (FormatMessageW's text, which is Wine's own under Wine), exit 1."""
    p = modmap("--pid", target.pid, "-o", "missing\\dir\\out.json", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (1, b"")
    assert p.stderr.decode().splitlines() == ["modmap: missing\\dir\\out.json: Path not found"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["NUL", "nul", "C:\\NUL", "\\\\.\\NUL", "Z:\\dev\\null"])
def test_output_to_a_device(target, tmp_path, name):
    """-o NUL and the like are written in place: a temporary name beside a
    DOS device ("NUL.tmp42") is that device again, and no rename can
    replace one. Z:\\dev\\null is no DOS name, but not a disk file either."""
    p = modmap("--pid", target.pid, "-f", "pprof", "-o", name, cwd=tmp_path)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    assert list(tmp_path.iterdir()) == []
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_to_a_fifo(target, tmp_path):
    """A FIFO (what Wine gives for a named pipe's Unix side) receives the
    whole output, and stays a FIFO: a rename would have replaced it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    try:
        p = modmap("--pid", target.pid, "-f", "json", "-o", winpath(fifo))
    finally:
        if reader.is_alive():       # modmap never opened it: unblock the reader
            with open(fifo, "wb"):
                pass
        reader.join(timeout=30)
    assert (p.returncode, p.stderr) == (0, b"")
    assert json.loads(got[0])["pid"] == target.pid
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert list(tmp_path.iterdir()) == [fifo]


def test_output_to_a_directory(target, tmp_path):
    """-o naming an existing directory: one line, exit 1, nothing left."""
    (tmp_path / "sub").mkdir()
    for name in ["sub", winpath(tmp_path / "sub")]:
        p = modmap("--pid", target.pid, "-o", name, cwd=tmp_path)
        assert (p.returncode, p.stdout) == (1, b"")
        assert p.stderr.decode().splitlines() == [f"modmap: {name}: Is a directory"]
        assert list(tmp_path.iterdir()) == [tmp_path / "sub"]
        assert list((tmp_path / "sub").iterdir()) == []


def test_unpaired_surrogate_names_the_same_file_both_ways(wine, tmp_path):
    """A name with an unpaired surrogate (through wexec.exe: Wine would make
    it U+FFFD on the way in) is converted alike for reading and writing, to
    that very unit, so the file with U+FFFD there is never read instead. Wine 8
    cannot create such a name, so the right file cannot exist: not found."""
    assert modmap("--self", "-f", "pprof", "-o", "p.pb.gz", cwd=tmp_path).returncode == 0
    # Decoys: what a lossy conversion (MultiByteToWideChar) could open instead.
    for n in (1, 2, 3):
        shutil.copy(tmp_path / "p.pb.gz", tmp_path / f"snap{chr(0xfffd) * n}.pb.gz")
    names = sorted(f.name for f in tmp_path.iterdir())

    def wexec(*args):
        return run_exe(WEXEC, winpath(MODMAP_EXE), *args, cwd=tmp_path)

    p = wexec("attach", "--snapshot", "snap\\uD800.pb.gz", "p.pb.gz", "-o", "out.pb.gz")
    assert (p.returncode, p.stdout) == (1, b"")
    assert p.stderr.splitlines() == [b"modmap: snap\xed\xa0\x80.pb.gz: File not found"]
    p = wexec("--self", "-o", "out\\uDC00.json")
    assert (p.returncode, p.stdout) == (1, b"")
    assert p.stderr.splitlines() == [b"modmap: out\xed\xb0\x80.json: File not found"]
    assert sorted(f.name for f in tmp_path.iterdir()) == names
    # wexec.exe itself: U+FFFD spelled the same way does name that file.
    p = wexec("attach", "--snapshot", "snap\\uFFFD.pb.gz", "p.pb.gz", "-o", "out.pb.gz")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out.pb.gz").exists()


# ---- errors ----------------------------------------------------------------

def test_no_such_process(wine):
    p = modmap("--pid", "99992")
    assert p.returncode == 1 and p.stdout == b""
    assert p.stderr.decode().strip() == "modmap: pid 99992: no such process"


def test_process_not_initialised_yet(target):
    p = modmap("--pid", target.suspended)
    assert p.returncode == 1
    assert p.stderr.decode().strip() == (
        f"modmap: pid {target.suspended}: process is not initialised yet "
        "(started suspended?); try again once it runs")


def test_scripted_toolhelp_failures(wine):
    """Failures Wine does not produce on demand, from the backend linked
    against a scripted CreateToolhelp32Snapshot: ERROR_BAD_LENGTH is retried
    a bounded number of times, and each error has its own message."""
    p = run_exe(TOOLHELP_ERRORS, check=True)
    rows = {}
    for line in p.stdout.decode().splitlines():
        case, status, calls, msg = line.split(" ", 3)
        rows[case] = (status, int(calls), re.sub(r"^pid \d+: ", "", msg))
    assert rows["bad_length_forever"] == (
        "failed", 20, "module list kept changing (ERROR_BAD_LENGTH 20 times); "
        "a process started suspended never settles")
    assert rows["bad_length_3"] == ("ok", 4, "-")
    assert rows["access_denied"] == (
        "failed", 1, "permission denied (a protected or elevated process; "
        "run modmap as administrator)")
    assert rows["partial_copy"] == (
        "failed", 1, "cannot read its module list (ERROR_PARTIAL_COPY: a protected "
        "process, or one without user-mode modules)")
    assert rows["noaccess"][:2] == ("failed", 1)
    assert rows["invalid_parameter"] == ("skip", 1, "no such process")
    assert rows["other"] == ("failed", 1, "CreateToolhelp32Snapshot failed (error 31)")


def test_usage_errors(wine):
    p = modmap("--self", "--format", "ünï")
    assert p.returncode == 2
    # The wide command line reaches the message whole, as UTF-8.
    assert p.stderr.startswith("modmap: unknown format 'ünï'".encode())
    assert modmap("--pid", "x").returncode == 2
    assert modmap("--self", "--format", "yaml").returncode == 2
    assert modmap().returncode == 2


# ---- build IDs -------------------------------------------------------------

def go_ids(paths, tz):
    p = run_exe(GOMTIME, *paths, tz=tz, check=True)
    return p.stdout.decode("utf-8").splitlines()


@pytest.mark.parametrize("tz", ZONES)
def test_path_mtime_equals_go(target, tz):
    """auto IDs are Go's runtime/pprof ones, byte for byte, in each zone."""
    doc = modmap_json("--pid", target.pid, tz=tz)
    files = [m["file"] for m in doc["mappings"]]
    want = go_ids(files, tz)
    got = [m["build_id"] for m in doc["mappings"]]
    assert got == want
    assert all(m["build_id_kind"] == "path-mtime" for m in doc["mappings"])


def test_path_mtime_zones_differ(target):
    """The dated copies really show different offsets and abbreviations."""
    summer = target.path_of("fixdll_summer.dll")
    winter = target.path_of("fixdll_winter.dll")
    frac = target.path_of("fixdll_frac.dll")
    ny = {m["file"]: m["build_id"] for m in modmap_json("--pid", target.pid,
                                                       tz="America/New_York")["mappings"]}
    assert ny[summer] == summer + "2021-07-04 08:34:56.1234567 -0400 EDT"
    assert ny[winter] == winter + "2021-01-15 07:00:00 -0500 EST"
    assert ny[frac] == frac + "2023-11-14 17:13:20.5 -0500 EST"
    syd = {m["file"]: m["build_id"] for m in modmap_json("--pid", target.pid,
                                                        tz="Australia/Sydney")["mappings"]}
    assert syd[summer] == summer + "2021-07-04 22:34:56.1234567 +1000 AEST"
    assert syd[winter] == winter + "2021-01-15 23:00:00 +1100 AEDT"


NEWFOUNDLAND = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Time Zones" \
    r"\Newfoundland Standard Time"
NEWFOUNDLAND_NAMES = {"Std": "Newfoundland Standard Time", "Dlt": "Newfoundland Daylight Time",
                      "MUI_Std": "@tzres.dll,-9504", "MUI_Dlt": "@tzres.dll,-9505"}


def reg_set(values):
    """Sets (str) or deletes (None) values of Newfoundland's zone key."""
    for name, value in values.items():
        cmd = ["add", NEWFOUNDLAND, "/v", name, "/d", value, "/f"] if value is not None \
            else ["delete", NEWFOUNDLAND, "/v", name, "/f"]
        subprocess.run(["wine", "reg", *cmd], env=wine_env(), capture_output=True, timeout=60)


@pytest.fixture
def french_newfoundland(wine):
    """The zone of America/St_Johns named in French, as a localised Windows
    names it; Wine takes a zone's names from Std/Dlt when MUI_* are absent."""
    reg_set(NEWFOUNDLAND_NAMES)
    reg_set({"Std": "Heure normale de Terre-Neuve", "Dlt": "Heure avancée de Terre-Neuve"})
    yield reg_set
    reg_set(NEWFOUNDLAND_NAMES)


def test_zone_names_go_does_not_know(target, french_newfoundland):
    """Go's fallbacks for a zone name not in its table: the registry zone
    whose names match gives the English name; failing that, capitals."""
    winter = target.path_of("fixdll_winter.dll")
    summer = target.path_of("fixdll_summer.dll")
    tz = "America/St_Johns"

    # Only the standard name is French: no registry zone has both names,
    # so the standard abbreviation is the capitals, the daylight one the
    # table's.
    french_newfoundland({"MUI_Std": None})
    ids = {m["file"]: m["build_id"] for m in modmap_json("--pid", target.pid, tz=tz)["mappings"]}
    assert ids[winter] == winter + "2021-01-15 08:30:00 -0330 HTN"
    assert ids[summer] == summer + "2021-07-04 10:04:56.1234567 -0230 NDT"
    assert [ids[winter], ids[summer]] == go_ids([winter, summer], tz)

    # Both French: the registry's Std/Dlt match, its key is the English name.
    french_newfoundland({"MUI_Dlt": None})
    ids = {m["file"]: m["build_id"] for m in modmap_json("--pid", target.pid, tz=tz)["mappings"]}
    assert ids[winter] == winter + "2021-01-15 08:30:00 -0330 NST"
    assert [ids[winter], ids[summer]] == go_ids([winter, summer], tz)


def test_build_id_modes(target):
    none = modmap_json("--pid", target.pid, "--build-id", "none")
    assert all(m["build_id"] == "" and m["build_id_kind"] == "none"
               for m in none["mappings"])
    auto = modmap_json("--pid", target.pid)
    mtime = modmap_json("--pid", target.pid, "--build-id", "mtime")
    assert [m["build_id"] for m in mtime["mappings"]] == \
        [m["build_id"] for m in auto["mappings"]]


def codeview_key(unix_path):
    """The symbol-server key of a PE file's CodeView record, per objdump -p
    (which prints the GUID in that order already), or None."""
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(unix_path)],
                         capture_output=True, check=True, text=True).stdout
    cv = re.search(r"RSDS signature ([0-9a-f]{32}) age (\d+)", out)
    return cv and cv.group(1).upper() + format(int(cv.group(2)), "X")


def image_key(unix_path):
    """TimeDateStamp %08X and SizeOfImage %x, read from the headers."""
    d = Path(unix_path).read_bytes()
    pe = struct.unpack_from("<I", d, 0x3C)[0]
    assert d[pe:pe + 4] == b"PE\0\0"
    stamp = struct.unpack_from("<I", d, pe + 8)[0]
    size = struct.unpack_from("<I", d, pe + 24 + 56)[0]
    return f"{stamp:08X}{size:x}"


def test_native_build_ids(target, dlls):
    """native: CodeView signature, else the image key, else path+mtime."""
    doc = modmap_json("--pid", target.pid, "--build-id", "native")
    by_file = {m["file"]: m for m in doc["mappings"]}
    m = by_file[winpath(dlls["long"])]
    # fixdll.dll is linked with --build-id: it has a CodeView record.
    assert m["build_id_kind"] == "pdb"
    assert m["build_id"].upper() == codeview_key(dlls["long"])
    # Wine's own DLLs carry none: they get their image key.
    nt = next(m for f, m in by_file.items() if f.lower().endswith("\\ntdll.dll"))
    assert nt["build_id_kind"] == "pe-image"
    assert nt["build_id"] == image_key(PREFIX / "drive_c/windows/system32/ntdll.dll")


def test_zone_table_is_gos(wine):
    """lib/gozone_abbrs.h is the table of the Go that checks it."""
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True,
                            check=True).stdout.strip()
    go = Path(goroot, "src/time/zoneinfo_abbrs_windows.go").read_text()
    want = set(re.findall(r'^\s*"([^"]+)":\s*\{"([^"]*)", "([^"]*)"\}', go, re.M))
    ours = (ROOT / "lib/gozone_abbrs.h").read_text()
    got = set(re.findall(r'\{ "([^"]+)", "([^"]*)", "([^"]*)" \}', ours))
    assert got == want


# ---- pprof -----------------------------------------------------------------

def go_tool_pprof_raw(path):
    """`go tool pprof -raw` of path: (whole output, its Mappings lines)."""
    p = subprocess.run(["go", "tool", "pprof", "-raw", "-symbolize=none", str(path)],
                       capture_output=True, env=go_env(), timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    out = p.stdout.decode("utf-8")
    return out, out.split("\nMappings\n", 1)[1].splitlines()


def test_pprof_equals_json(target, tmp_path, pprofcheck):
    """modmap.exe's pprof, read by google/pprof's parser and by go tool
    pprof: every module as the target itself reports it (GetModuleInformation),
    main first, each location inside its module; and as the JSON of the
    same process has it (an extra check)."""
    out = tmp_path / "maps.pb.gz"
    doc = modmap_json("--pid", target.pid)
    p = modmap("--pid", target.pid, "--format", "pprof", "-o", winpath(out))
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    want = [m for m in doc["mappings"] if m["main"]] + \
        [m for m in doc["mappings"] if not m["main"]]
    assert want[0]["file"] == winpath(WINFIX) and len(want) == len(target.mods)

    r = go_parse(pprofcheck, out)  # each location inside its mapping
    assert r["Valid"] == ""
    assert sorted((m["Start"], m["Limit"], m["File"].decode()) for m in r["Mappings"]) == \
        sorted((base, base + size, path) for base, size, path in target.mods)
    assert r["Mappings"][0]["File"] == winpath(WINFIX).encode()
    assert all(m["Offset"] == 0 for m in r["Mappings"])
    got = [(m["ID"], m["Start"], m["Limit"], m["Offset"], m["File"], m["BuildID"])
           for m in r["Mappings"]]
    assert got == [(i, int(m["start"], 16), int(m["limit"], 16), int(m["offset"], 16),
                    m["file"].encode(), m["build_id"].encode())
                   for i, m in enumerate(want, 1)]
    assert r["Comments"][0] == f"modmap: pid {target.pid} (windows) {winpath(WINFIX)}".encode()
    assert r["SampleTypes"] == ["mappings/count"]
    assert r["SampleMaps"] == list(range(1, len(want) + 1))

    text, listed = go_tool_pprof_raw(out)
    assert listed == ["%d: %#x/%#x/%#x %s %s " % (i, int(m["start"], 16), int(m["limit"], 16),
                                                  int(m["offset"], 16), m["file"], m["build_id"])
                      for i, m in enumerate(want, 1)]
    assert f"Comment: modmap: pid {target.pid} (windows) {winpath(WINFIX)}\n" in text


CBOR_MISSING = "modmap: this build of modmap has no CBOR support (built without libcbor)"


@pytest.mark.parametrize("pid", ["target", "99994"])
def test_cbor_refused_without_libcbor(target, tmp_path, pid):
    """Debian has no mingw libcbor: the Windows build says so, exit 2,
    before reading any process (a missing one is not reported)."""
    out = tmp_path / "x.cbor"
    p = modmap("--pid", target.pid if pid == "target" else pid, "--format", "cbor",
               "-o", winpath(out))
    assert p.returncode == 2 and p.stdout == b""
    assert p.stderr.decode().splitlines() == [CBOR_MISSING]
    assert not out.exists()


# ---- attach: a Go program's own profiles -----------------------------------
#
# goprof (tests/fixtures/goprof) cross-built with Debian's Go 1.19, which
# writes no real mapping table on Windows: it reads /proc/self/maps and,
# when that fails, writes one fake mapping (no file, empty range). Under
# Wine the read does not fail: Wine opens the host's /proc/self/maps, of
# the wineserver, so the table names wineserver64 and libc and holds no
# location of the Go program. Either way the table is wrong; attach gives
# the profile the modules modmap.exe reports for the same Windows PID.

GOPROF = WIN / "fixtures" / "goprof.exe"


class GoProf:
    """goprof.exe under Wine, its Windows PID and the CPU and heap profiles
    it wrote of itself; it runs until stop()."""

    def __init__(self, directory):
        self.cpu, self.heap = directory / "cpu.pb.gz", directory / "heap.pb.gz"
        self.popen = subprocess.Popen(["wine", str(GOPROF), winpath(self.cpu),
                                       winpath(self.heap)], env=wine_env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        word, _, pid = self.popen.stdout.readline().decode().strip().partition(" ")
        if word != "ready":
            self.stop()
            raise AssertionError(f"goprof.exe exited {self.popen.returncode}: "
                                 f"{self.popen.stderr.read().decode(errors='replace')}")
        self.pid = int(pid)

    def stop(self):
        if not self.popen.stdin.closed:
            self.popen.stdin.close()
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@pytest.fixture(scope="module")
def goprof(wine, tmp_path_factory):
    proc = GoProf(tmp_path_factory.mktemp("goprof"))
    yield proc
    proc.stop()


def modules(pid):
    """modmap.exe's records for pid: (start, limit, file, build_id)."""
    return [(int(m["start"], 16), int(m["limit"], 16), m["file"], m["build_id"])
            for m in modmap_json("--pid", pid)["mappings"]]


def check_attached(original, attached, mods):
    """attached has exactly the modules mods as its mapping table, and every
    location with an address sits in the module that holds the address."""
    assert [(m["Start"], m["Limit"], m["File"], m["BuildID"])
            for m in attached["Mappings"]] == mods
    assert mods[0][2] == winpath(GOPROF)
    # Go's own table placed no location in any of these modules.
    files = {f for _, _, f, _ in mods}
    assert not any(loc["Mapping"] and loc["Mapping"]["File"] in files
                   for loc in original["Locations"])
    want = {loc["ID"]: loc for loc in original["Locations"]}
    assert len(attached["Locations"]) == len(want) > 0
    for loc in attached["Locations"]:
        assert (loc["Address"], loc["Lines"]) == (want[loc["ID"]]["Address"],
                                                  want[loc["ID"]]["Lines"])
        assert loc["Address"] != 0     # Go gives every location an address
        owner = [m for m in mods if m[0] <= loc["Address"] < m[1]]
        assert len(owner) == 1, f"{loc['Address']:#x} in {owner}"
        m = loc["Mapping"]
        assert m is not None, f"location at {loc['Address']:#x} has no mapping"
        assert (m["Start"], m["Limit"], m["File"], m["BuildID"]) == owner[0]


def attach_summary(p):
    err = p.stderr.decode()
    assert p.returncode == 0, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    m = re.fullmatch(r"modmap: attached (\d+) mappings from (.*): (\d+) of (\d+) "
                     r"locations mapped", lines[0])
    assert m, err
    return int(m[1]), m[2], int(m[3]), int(m[4])


def flags(m):
    """A mapping's has_* flags as google/pprof's Mapping.string prints them."""
    return "".join(tag for key, tag in (("HasFunctions", "[FN]"), ("HasFilenames", "[FL]"),
                                        ("HasLineNumbers", "[LN]"),
                                        ("HasInlineFrames", "[IN]")) if m[key])


def check_pprof_reads(path, pprofcheck, attached, function):
    """google/pprof's parser accepts the profile, and go tool pprof lists
    its mappings (those its merge keeps: the first, and those holding a
    location) and its functions."""
    assert go_parse(pprofcheck, path)["Valid"] == ""
    _, listed = go_tool_pprof_raw(path)
    used = {(loc["Mapping"]["Start"], loc["Mapping"]["File"]) for loc in attached["Locations"]}
    maps = attached["Mappings"]
    assert [line.split(" ", 2)[1:] for line in listed] == \
        [["%#x/%#x/0x0" % (m["Start"], m["Limit"]), f"{m['File']} {m['BuildID']} {flags(m)}"]
         for i, m in enumerate(maps) if i == 0 or (m["Start"], m["File"]) in used]
    top = subprocess.run(["go", "tool", "pprof", "-top", "-symbolize=none", str(path)],
                         capture_output=True, env=go_env(), timeout=120)
    assert top.returncode == 0, top.stderr.decode(errors="replace")
    assert function in top.stdout


@pytest.mark.parametrize("kind", ["cpu", "heap"])
def test_attach_pid_to_go_profile(goprof, tmp_path, pprofcheck, kind):
    """The profile as Go wrote it, given the module map by modmap.exe attach
    --pid: every location lands in the module that holds its address."""
    prof = goprof.cpu if kind == "cpu" else goprof.heap
    out = tmp_path / "out.pb.gz"
    p = modmap("attach", "--pid", goprof.pid, winpath(prof), "-o", winpath(out))
    mods = modules(goprof.pid)
    original, attached = dump(prof), dump(out)
    check_attached(original, attached, mods)
    nmaps, source, mapped, total = attach_summary(p)
    assert (nmaps, source) == (len(mods), f"pid {goprof.pid}")
    assert mapped == total == len(original["Locations"])
    check_pprof_reads(out, pprofcheck, attached,
                      b"crypto/sha256" if kind == "cpu" else b"main.work")


def test_attach_pid_to_fake_mapping(goprof, tmp_path, pprofcheck):
    """The table Go 1.19 writes on Windows itself: one fake mapping holding
    every location. It is dropped and its has_functions carries over."""
    fake, out = tmp_path / "fake.pb.gz", tmp_path / "out.pb.gz"
    pprofedit("fake", goprof.cpu, fake)
    assert [(m["Start"], m["Limit"], m["File"]) for m in dump(fake)["Mappings"]] == [(0, 0, "")]
    p = modmap("attach", "--pid", goprof.pid, winpath(fake), "-o", winpath(out))
    mods = modules(goprof.pid)
    attached = dump(out)
    check_attached(dump(goprof.cpu), attached, mods)
    assert attach_summary(p)[2:] == (len(attached["Locations"]),) * 2
    assert attached["Mappings"][0]["HasFunctions"]
    check_pprof_reads(out, pprofcheck, attached, b"crypto/sha256")


def test_attach_over_input_and_through_pipes(goprof, tmp_path):
    """-o naming the input replaces it (MoveFileExW over a closed file), and
    a raw profile in on standard input comes out gzip on standard output:
    both streams binary, so no CR/LF translation corrupts them."""
    prof = tmp_path / "p.pb.gz"
    prof.write_bytes(goprof.cpu.read_bytes())
    p = modmap("attach", "--pid", goprof.pid, winpath(prof), "-o", winpath(prof))
    mods = modules(goprof.pid)
    check_attached(dump(goprof.cpu), dump(prof), mods)
    assert attach_summary(p)[0] == len(mods)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p.pb.gz"]

    raw = gzip.decompress(goprof.heap.read_bytes())
    assert b"\n" in raw        # a byte a text-mode stream would change
    p = subprocess.run(["wine", str(MODMAP_EXE), "attach", "--pid", str(goprof.pid), "-"],
                       input=raw, env=wine_env(), capture_output=True, timeout=120)
    assert attach_summary(p)[0] == len(mods)
    piped = tmp_path / "piped.pb.gz"
    piped.write_bytes(p.stdout)
    check_attached(dump(goprof.heap), dump(piped), mods)


def test_attach_streams_to_nul_and_from_a_pipe(wine, tmp_path):
    """attach writes -o NUL in place (the null device, no file named NUL),
    and reads a profile on a pipe twice through a temporary file of
    GetTempPath's, which is gone once it exits."""
    from test_attach import good_profile, one_mapping_table
    snap, prof = tmp_path / "snap.pb.gz", tmp_path / "p.pb"
    snap.write_bytes(one_mapping_table())
    prof.write_bytes(good_profile())
    p = modmap("attach", "--snapshot", winpath(snap), winpath(prof), "-o", "NUL", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p.pb", "snap.pb.gz"]

    temp = PREFIX / "drive_c" / "users"
    before = sorted(temp.glob("*/Temp/mmp*"))
    data = good_profile() * 1000     # the same location, again and again
    p = subprocess.run(["wine", str(MODMAP_EXE), "attach", "--snapshot", winpath(snap), "-"],
                       input=data, env=wine_env(), capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b": 1000 of 1000 locations mapped" in p.stderr
    assert sorted(temp.glob("*/Temp/mmp*")) == before
    ref = run_modmap("attach", "--snapshot", snap, "-", input=data).stdout
    assert gzip.decompress(p.stdout) == gzip.decompress(ref)


def test_attach_saved_snapshot_after_exit(wine, tmp_path, pprofcheck):
    """modmap.exe --format pprof while goprof.exe runs; attach once it is gone."""
    snap, out = tmp_path / "snap.pb.gz", tmp_path / "out.pb.gz"
    proc = GoProf(tmp_path)
    try:
        mods = modules(proc.pid)
        p = modmap("--pid", proc.pid, "--format", "pprof", "-o", winpath(snap))
        assert p.returncode == 0, p.stderr
    finally:
        proc.stop()
    assert proc.popen.returncode == 0
    p = modmap("attach", "--snapshot", winpath(snap), winpath(proc.heap), "-o", winpath(out))
    original, attached = dump(proc.heap), dump(out)
    check_attached(original, attached, mods)
    assert attach_summary(p) == (len(mods), winpath(snap), len(original["Locations"]),
                                 len(original["Locations"]))
    check_pprof_reads(out, pprofcheck, attached, b"main.work")


def test_attach_cbor_snapshot_without_libcbor(target, tmp_path):
    """A CBOR snapshot (written by the Linux build, with libcbor): this
    build cannot read it and says so; nothing is written."""
    snap, prof, out = tmp_path / "snap.cbor", tmp_path / "p.pb.gz", tmp_path / "out.pb.gz"
    run_modmap("--self", "--format", "cbor", "-o", snap)
    p = modmap("--pid", target.pid, "--format", "pprof", "-o", winpath(prof))
    assert p.returncode == 0
    p = modmap("attach", "--snapshot", winpath(snap), winpath(prof), "-o", winpath(out))
    assert p.returncode == 1
    assert p.stderr.decode().splitlines() == [
        f"modmap: {winpath(snap)}: a CBOR snapshot, and this modmap was built without "
        "libcbor; save the snapshot as pprof (modmap --format pprof)"]
    assert not out.exists()


def test_attach_input_errors(wine, tmp_path):
    """An input that is a directory or is missing: one line in words (Wine's
    FormatMessageW texts), exit 1, no output left."""
    (tmp_path / "dir").mkdir()
    assert modmap("--self", "-f", "pprof", "-o", "snap.pb.gz", cwd=tmp_path).returncode == 0
    for args, line in [
            (["--snapshot", "dir", "snap.pb.gz"], "modmap: dir: Is a directory"),
            (["--snapshot", "snap.pb.gz", "dir"], "modmap: dir: Is a directory"),
            (["--snapshot", "snap.pb.gz", "nope.pb.gz"], "modmap: nope.pb.gz: File not found"),
            (["--snapshot", "no\\snap.pb.gz", "snap.pb.gz"],
             "modmap: no\\snap.pb.gz: Path not found")]:
        p = modmap("attach", *args, "-o", "out.pb.gz", cwd=tmp_path)
        assert (p.returncode, p.stdout) == (1, b"")
        assert p.stderr.decode().splitlines() == [line]
        assert sorted(f.name for f in tmp_path.iterdir()) == ["dir", "snap.pb.gz"]


# ---- collect ---------------------------------------------------------------

def pe_image_key(path):
    """The symbol-store key of a PE file, read here with struct from the
    PE/COFF layout: TimeDateStamp as %08X, then SizeOfImage as %x."""
    data = Path(path).read_bytes()
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0"
    stamp = struct.unpack_from("<I", data, pe + 8)[0]
    size_of_image = struct.unpack_from("<I", data, pe + 24 + 56)[0]
    return f"{stamp:08X}{size_of_image:x}"


def test_collect_symbol_store_layout(target, dlls, tmp_path):
    out = tmp_path / "store"
    p = modmap("collect", "--pid", target.pid, "-o", winpath(out))
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, err
    assert re.search(r"collected into .*: [1-9]\d* files copied \(\d+ bytes\), \d+ already "
                     r"present, 0 skipped\r?\n$", err), err
    for original in (WINFIX, dlls["uni"], dlls["long"], FIXDLL.parent / "fixdll.dll"):
        if original.name == "fixdll.dll":
            continue        # not loaded: its copies are
        kept = out / original.name / pe_image_key(original) / original.name
        assert kept.is_file(), f"{kept} missing"
        assert kept.read_bytes() == original.read_bytes()
    assert not [f for f in out.rglob(".tmp.*")]
    # Again: all there, nothing copied.
    p = modmap("collect", "--pid", target.pid, "-o", winpath(out))
    assert re.search(r": 0 files copied \(0 bytes\), [1-9]\d* already present, 0 skipped",
                     p.stderr.decode(errors="replace")), p.stderr


FIXPDB = WIN / "fixtures" / "fixpdb.dll"


def pdb_key(pdb):
    """GUID and age as llvm-pdbutil reads them from the PDB itself, in the
    symbol-store form: 32 hex digits, then the age in hex."""
    out = subprocess.run(["llvm-pdbutil", "dump", "-summary", str(pdb)], capture_output=True,
                         text=True, check=True).stdout
    guid = re.search(r"GUID: \{([0-9A-F-]+)\}", out).group(1).replace("-", "")
    age = int(re.search(r"Age: (\d+)", out).group(1))
    return f"{guid}{age:X}"


def test_collect_keeps_the_pdb_beside_a_module(wine, tmp_path):
    if not shutil.which("llvm-pdbutil"):
        pytest.skip("llvm-pdbutil (Debian: llvm) is needed to read the PDB independently")
    work = tmp_path / "mods"
    work.mkdir()
    dll, pdb = work / "fixpdb.dll", work / "fixpdb.pdb"
    shutil.copy(FIXPDB, dll)
    shutil.copy(FIXPDB.with_suffix(".pdb"), pdb)
    p = subprocess.Popen(["wine", str(WINFIX), winpath(dll)], env=wine_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        t = Target(p)
        out = tmp_path / "store"
        r = modmap("collect", "--pid", t.pid, "-o", winpath(out))
        err = r.stderr.decode(errors="replace")
        assert r.returncode == 0, err
        kept = out / "fixpdb.dll" / pe_image_key(dll) / "fixpdb.dll"
        assert kept.read_bytes() == dll.read_bytes()
        kept_pdb = out / "fixpdb.pdb" / pdb_key(pdb) / "fixpdb.pdb"
        assert kept_pdb.is_file(), f"{kept_pdb} missing: {sorted(out.rglob('*'))}"
        assert kept_pdb.read_bytes() == pdb.read_bytes()
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_collect_refuses_a_stale_pdb(wine, tmp_path):
    """A PDB of that name beside the module, but of another build: named, not kept."""
    work = tmp_path / "mods"
    work.mkdir()
    dll, pdb = work / "fixpdb.dll", work / "fixpdb.pdb"
    shutil.copy(FIXPDB, dll)
    shutil.copy(BUILD / "fixtures" / "pefix-pdb.pdb", pdb)
    p = subprocess.Popen(["wine", str(WINFIX), winpath(dll)], env=wine_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        t = Target(p)
        out = tmp_path / "store"
        r = modmap("collect", "--pid", t.pid, "-o", winpath(out))
        err = r.stderr.decode(errors="replace")
        assert r.returncode == 1, err
        assert re.search(rf"pid {t.pid}: {re.escape(winpath(pdb))}: contents have another "
                         r"build ID: the file has [0-9A-F]{32}, the mapping [0-9A-F]{33,}\r?\n",
                         err), err
        assert not (out / "fixpdb.pdb").exists()
        assert (out / "fixpdb.dll" / pe_image_key(dll) / "fixpdb.dll").is_file()
    finally:
        p.stdin.close()
        p.wait(timeout=30)


# ---- lookup -----------------------------------------------------------------

def pe_rva(path, symbol):
    """The symbol's RVA as binutils gives it: nm's address minus ImageBase."""
    nm = subprocess.run(["x86_64-w64-mingw32-nm", str(path)], capture_output=True,
                        text=True, check=True).stdout
    addr = next(int(l.split()[0], 16) for l in nm.splitlines() if l.split()[-1] == symbol)
    hdr = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(path)], capture_output=True,
                         text=True, check=True).stdout
    base = int(re.search(r"^ImageBase\s+([0-9a-fA-F]+)", hdr, re.M)[1], 16)
    return addr - base


def test_lookup_rva_matches_nm(target, dlls, tmp_path):
    """lookup's rva of fixdll_answer (its runtime address from GetProcAddress)
    is the RVA binutils gives, live under Wine and from a saved snapshot."""
    want = pe_rva(FIXDLL, "fixdll_answer")
    p = modmap("lookup", "--pid", target.pid, "-f", "json", hex(target.answer), "0x10")
    assert p.returncode == 0, p.stderr
    a, unmapped = json.loads(p.stdout)
    assert a["file"] == winpath(dlls["long"])
    assert int(a["rva"], 16) == want and "elf_vaddr" not in a
    assert int(a["start"], 16) + want == target.answer
    assert unmapped == {"address": "0x10", "mapped": False}
    # The same from standard input, with Windows line ends and a bad line.
    p = subprocess.run(["wine", str(MODMAP_EXE), "lookup", "--pid", str(target.pid), "-f",
                        "jsonl"], env=wine_env(), capture_output=True, timeout=120,
                       input=f"{target.answer:#x}\r\nnope\r\n10\r\n".encode())
    assert p.returncode == 1, p.stderr
    assert [json.loads(l) for l in p.stdout.splitlines()] == [a, unmapped]
    assert b"line 2: not an address: 'nope'" in p.stderr
    # A snapshot saved by modmap.exe, looked up by the Linux build.
    snap = WORK / "lookup-snap.pb.gz"
    p = modmap("--pid", target.pid, "--format", "pprof", "-o", winpath(snap))
    assert p.returncode == 0, p.stderr
    b = json.loads(run_modmap("lookup", "--snapshot", snap, "-f", "json",
                              hex(target.answer)).stdout)[0]
    assert int(b["rva"], 16) == want and b["file"] == a["file"]


# ---- watch -------------------------------------------------------------------

def test_watch_reports_the_modules_then_the_exit(wine, dlls):
    """modmap.exe watch through Toolhelp32: every module winfix.exe reports
    (GetModuleInformation) as a load, then the exit once it ends."""
    fix = subprocess.Popen(["wine", str(WINFIX), winpath(dlls["uni"])], env=wine_env(),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    w = None
    try:
        target = Target(fix)
        w = subprocess.Popen(["wine", str(MODMAP_EXE), "watch", "--pid", str(target.pid),
                              "--interval", "50ms"], env=wine_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        loads = []
        for _ in target.mods:
            line = w.stdout.readline()
            assert line.endswith(b"\n"), (line, w.stderr.read() if w.poll() is not None else "")
            loads.append(json.loads(line))
        assert {e["event"] for e in loads} == {"load"}
        assert {e["pid"] for e in loads} == {target.pid}
        assert sorted((int(e["start"], 16), int(e["limit"], 16), e["file"]) for e in loads) == \
            sorted((b, b + s, p) for b, s, p in target.mods)
        assert loads[0]["main"] is True and loads[0]["file"] == winpath(WINFIX)
        fix.stdin.close()   # winfix.exe exits
        fix.wait(timeout=60)
        last = json.loads(w.stdout.readline())
        assert last["event"] == "exit" and last["pid"] == target.pid
        assert w.wait(timeout=60) == 0
        assert w.stdout.read() == b""
    finally:
        for p in (fix, w):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


# ---- symbolize: PE export and COFF names (docs/symbolize.md) ------------------

def nm_functions(path):
    """x86_64-w64-mingw32-nm's text symbols of path that objdump's symbol
    table types as functions (ty 20), by RVA: {rva: {names}}."""
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(path)], capture_output=True,
                         text=True, check=True).stdout
    base = int(re.search(r"ImageBase\s+([0-9a-fA-F]+)", out).group(1), 16)
    table = subprocess.run(["x86_64-w64-mingw32-objdump", "-t", str(path)], capture_output=True,
                           text=True, check=True).stdout
    funcs = {line.split()[-1] for line in table.splitlines() if "(ty   20)" in line}
    nm = subprocess.run(["x86_64-w64-mingw32-nm", str(path)], capture_output=True, text=True,
                        check=True).stdout
    by_rva = {}
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT" and parts[2] in funcs:
            by_rva.setdefault(int(parts[0], 16) - base, set()).add(parts[2])
    return by_rva


def test_symbolize_pe_modules_named_as_nm_names_them(target):
    """modmap.exe lookup --symbolize on a running Windows process: every
    function of winfix.exe and of fixdll.dll (its COFF symbol table and its
    export table) is named at its first byte and one byte in, as
    x86_64-w64-mingw32-nm names it."""
    checked = 0
    for name, unix in (("winfix.exe", WINFIX), ("fixdll_uni.dll", FIXDLL)):
        base = next(b for b, _, p in target.mods if p.lower().endswith("\\" + name))
        funcs = nm_functions(unix)
        rvas = sorted(funcs)
        addrs = [base + r for r in rvas] + [base + r + 1 for r in rvas]
        p = modmap("lookup", "--pid", target.pid, "--symbolize", "-f", "json",
                   *[hex(a) for a in addrs])
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        answers = json.loads(p.stdout)
        for a in answers:
            rva = int(a["rva"], 16)
            want = funcs[max(r for r in rvas if r <= rva)]
            got = [f["function"] for f in a["symbols"]]
            assert len(got) == 1 and got[0] in want, (name, hex(rva), got, want)
            checked += 1
    assert checked > 50
