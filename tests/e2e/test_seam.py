"""The backend seam (SPEC "The library's ABI and the backend seam"): the
whole library and command build on lib/os/none.c, a backend that reads no
process (`make OS=none`, build/osnone), which then says so with exit
status 1 and still does all that needs no OS (reading saved snapshots); and
no file of lib/ outside lib/os/ includes an OS header or asks which OS it
is built for."""
import json
import os
import re
import subprocess

import pytest

from conftest import BUILD, FIXTURES, ROOT, proc_maps, run_modmap, unprivileged_prefix

OSNONE = BUILD / "osnone" / "modmap"


def run_none(*args):
    return subprocess.run([str(OSNONE), *map(str, args)], capture_output=True, timeout=120)


def test_none_backend_reads_no_process():
    p = run_none("--self")
    assert p.returncode == 1, p.stderr
    assert p.stdout == b""
    assert p.stderr.decode() == (
        "modmap: reading a process's modules: not supported on this system\n")


def test_none_backend_lists_no_process():
    p = run_none("--all", "--format", "json")
    assert p.returncode == 1
    assert p.stdout == b""
    assert p.stderr.decode() == "modmap: listing processes: not supported on this system\n"


def test_none_backend_names_the_pid_it_cannot_read(sleeper):
    p = run_none("--pid", sleeper.pid)
    assert p.returncode == 1
    assert p.stderr.decode() == (
        f"modmap: pid {sleeper.pid}: reading a process's modules: "
        "not supported on this system\n")
    p = run_none("lookup", "--pid", sleeper.pid, "1000")
    assert p.returncode == 1
    assert "not supported on this system" in p.stderr.decode()


def test_none_backend_still_reads_saved_snapshots(sleeper, tmp_path):
    """lookup --snapshot needs no OS: a pprof snapshot written by the Linux
    build is read by the none build, and its answer names the file that
    /proc/PID/maps shows at the address."""
    snap = tmp_path / "s.pb.gz"
    run_modmap("--pid", sleeper.pid, "--format", "pprof", "-o", snap)
    line = next(m for m in proc_maps(sleeper.pid) if "x" in m["perms"] and m["name"].startswith("/"))
    addr = line["start"] + 16
    p = run_none("lookup", "--snapshot", snap, "-f", "json", f"{addr:x}")
    assert p.returncode == 0, p.stderr
    [answer] = json.loads(p.stdout)
    assert answer["file"] == line["name"]


# ISO C's headers, the POSIX basics every C runtime has (a stat() of a
# file, errno), and the libraries the build links.
PORTABLE = {
    "assert.h", "ctype.h", "errno.h", "float.h", "inttypes.h", "limits.h", "math.h",
    "stdarg.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h", "stdlib.h", "string.h",
    "time.h", "sys/stat.h", "sys/types.h", "zlib.h", "cbor.h",
    "dwarf.h", "gelf.h", "libelf.h",
}
# The libraries' own folders of headers (Nettle's hashes, elfutils').
PORTABLE_DIRS = ("nettle/", "elfutils/")
OS_CONDITIONAL = re.compile(
    r"^\s*#\s*(if|ifdef|ifndef|elif).*\b(_WIN32|_WIN64|__linux__|__linux|__MINGW32__|"
    r"__MINGW64__|__APPLE__|__FreeBSD__|__unix__|__CYGWIN__|_MSC_VER)\b", re.M)


def lib_files_outside_os():
    files = [p for p in sorted((ROOT / "lib").rglob("*.[ch]"))
             if (ROOT / "lib" / "os") not in p.parents]
    assert len(files) > 20  # the library is there
    return files


def test_no_os_header_outside_lib_os():
    bad = []
    for path in lib_files_outside_os():
        for header in re.findall(r"^\s*#\s*include\s*<([^>]+)>", path.read_text(), re.M):
            if header not in PORTABLE and not header.startswith(PORTABLE_DIRS):
                bad.append(f"{path.relative_to(ROOT)}: <{header}>")
    assert bad == []


def test_no_os_conditional_outside_lib_os():
    bad = [f"{p.relative_to(ROOT)}: {m.group(0).strip()}"
           for p in lib_files_outside_os() for m in OS_CONDITIONAL.finditer(p.read_text())]
    assert bad == []


# ---- no process-wide state in the library ---------------------------------

# What changes the whole process: its umask, its signal dispositions.
PROCESS_WIDE = {"umask", "signal", "sigaction", "sigprocmask", "raise", "alarm", "setitimer"}


def test_library_calls_nothing_process_wide():
    """nm's list of what libmodmap.a calls from outside (an oracle that does
    not trust the source): no umask, no signal handling."""
    p = subprocess.run(["nm", "-u", "--format=posix", str(BUILD / "libmodmap.a")],
                       capture_output=True, text=True, check=True)
    called = {line.split()[0].split("@")[0] for line in p.stdout.splitlines()
              if line.strip() and not line.endswith(":")}
    assert "open" in called or "open64" in called  # nm read the objects
    assert called & PROCESS_WIDE == set()


def test_new_output_file_mode_is_what_the_umask_leaves(tmp_path):
    """-o creates a file the way any program's new file is created: 0666
    less the umask, without changing the umask to find it out."""
    for mask, want in ((0o027, 0o640), (0o002, 0o664), (0o077, 0o600)):
        out = tmp_path / f"snap-{mask:o}.json"
        p = subprocess.run(["sh", "-c", f'umask {mask:03o} && exec "$0" "$@"', str(BUILD / "modmap"),
                            "--self", "--format", "json", "-o", str(out)],
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert out.stat().st_mode & 0o7777 == want, oct(out.stat().st_mode)
        json.loads(out.read_text())



@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_replaced_file_is_never_more_readable_than_it_was(tmp_path, mode):
    """-o over an existing file writes a temporary copy and renames it over
    the file at the end, keeping the file's mode. Until then the copy is
    the caller's alone: a snapshot written over a 0600 file is never, not
    even half-written, readable by other users (fchmod is where the copy
    gets the old mode; tests/fixtures/modespy.c reports the mode it had)."""
    out = tmp_path / "snap.json"
    out.write_text("old\n")
    out.chmod(mode)
    log = tmp_path / "modes"
    env = dict(os.environ, MODESPY_LOG=str(log))
    env["LD_PRELOAD"] = " ".join(filter(None, [env.get("LD_PRELOAD"), str(FIXTURES / "modespy.so")]))
    p = subprocess.run([str(BUILD / "modmap"), "--self", "--format", "json", "-o", str(out)],
                       env=env, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    json.loads(out.read_text())
    assert out.stat().st_mode & 0o7777 == mode
    before, after = (int(x, 8) for x in log.read_text().split())
    assert after == mode
    assert before & 0o077 == 0, f"the copy was {before:o} while written"

# ---- errors ---------------------------------------------------------------

def test_permission_denied_is_typed(spawn):
    """A process another user owns, read through the API by an ordinary
    user: the error is MODMAP_ERR_PERMISSION, as the kernel's EACCES on its
    maps file (checked here first) says; a PID with no process is
    MODMAP_ERR_NO_PROCESS."""
    prefix = unprivileged_prefix()
    target = spawn(["sleep", "600"], ready_line=False)
    probe = subprocess.run([*prefix, "cat", f"/proc/{target.pid}/maps"], capture_output=True)
    assert probe.returncode != 0 and b"Permission denied" in probe.stderr
    p = subprocess.run([*prefix, str(FIXTURES / "apiprobe"), "maps", str(target.pid)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert p.stderr.endswith("[permission]\n"), p.stderr
    assert f"pid {target.pid}: permission denied" in p.stderr
    gone = subprocess.Popen(["true"])
    gone.wait()
    p = subprocess.run([str(FIXTURES / "apiprobe"), "maps", str(gone.pid)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert p.stderr.endswith("[no-process]\n"), p.stderr
