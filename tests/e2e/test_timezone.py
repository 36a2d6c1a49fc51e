"""Go's time zone without process-wide state.

path+mtime build IDs carry the mtime in Go's Local zone. The library loads
that zone itself (lib/gotime.c) instead of setting TZ and calling tzset()
for glibc's localtime_r: no process-wide state, so threads reading
processes at once agree with the command, and both agree with Go.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BUILD, FIXTURES, ROOT, modmap_json, static_lib_deps

# What a library must not call: each changes or reads process-wide time
# zone state (tzset's globals, the environment); glibc's gmtime_r and
# strftime load the TZ zone file too.
FORBIDDEN = {"setenv", "putenv", "unsetenv", "tzset", "localtime", "localtime_r",
             "mktime", "timelocal", "ctime", "ctime_r", "strftime", "gmtime", "gmtime_r"}


def test_library_calls_no_process_wide_time_zone_code():
    nm = shutil.which("nm")
    if not nm:
        pytest.skip("no nm (binutils) to list the library's symbols")
    lib = BUILD / "libmodmap.a"
    out = subprocess.run([nm, "-u", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    undefined = {line.split()[-1].split("@")[0] for line in out.splitlines()
                 if line.strip() and not line.endswith(":")}
    assert undefined, "nm listed no undefined symbols: the check would prove nothing"
    assert "getenv" in undefined  # the TZ value is read, never written
    assert not undefined & FORBIDDEN, sorted(undefined & FORBIDDEN)


@pytest.fixture(scope="module")
def threads_example(tmp_path_factory):
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler to build examples/modmap-threads.c")
    exe = tmp_path_factory.mktemp("threads") / "modmap-threads"
    libs = static_lib_deps()
    subprocess.run([cc, "-std=c11", "-I", str(ROOT / "include"), "-o", str(exe),
                    str(ROOT / "examples" / "modmap-threads.c"), str(BUILD / "libmodmap.a"),
                    *libs, "-lpthread"], check=True)
    return exe


def env_with_tz(tz):
    env = dict(os.environ)
    env.pop("TZ", None)
    if tz is not None:
        env["TZ"] = tz
    return env


STAMPS = [["2021-03-04 05:06:07.123456789 UTC", "2100-07-01 12:00:00.5 UTC"],
          ["2024-04-07 02:30:00.25 UTC", "1999-12-31 23:59:59.000000100 UTC"]]


@pytest.mark.parametrize("tz", [None, "America/New_York", "Australia/Lord_Howe",
                                ":Europe/Berlin", "XYZ3"])
def test_threads_agree_with_cli_and_go(spawn, tmp_path, threads_example, tz):
    env = env_with_tz(tz)
    procs, files = [], []
    for i, stamps in enumerate(STAMPS):
        mine = []
        for k, stamp in enumerate(stamps):
            f = tmp_path / f"p{i}-module{k}.bin"
            f.write_bytes(b"not an executable format\n" * 4)
            mine.append(f)
        procs.append(spawn([FIXTURES / "idmapper", "--mmap", *mine]))
        for f, stamp in zip(mine, stamps):
            subprocess.run(["touch", "-d", stamp, str(f)], check=True)
        files += mine
    go = subprocess.run([FIXTURES / "gofix", *files], capture_output=True, text=True,
                        check=True, env=env).stdout.splitlines()
    want_go = {str(f): f"{f}{t}" for f, t in zip(files, go)}

    out = subprocess.run([threads_example, *(str(p.pid) for p in procs)],
                         capture_output=True, text=True, check=True, env=env).stdout
    threaded = {}
    for line in out.splitlines():
        pid, start, _limit, _off, kind, bid, _main, path = line.split("\t", 7)
        threaded[(int(pid), int(start, 16))] = (kind, bid, path)
    checked = 0
    for p in procs:
        for m in modmap_json("--pid", p.pid, env=env)["mappings"]:
            got = threaded.pop((p.pid, int(m["start"], 16)))
            assert got == (m.get("build_id_kind", "none"), m.get("build_id", ""),
                           m["file"]), m
            if m["file"] in want_go:
                assert m["build_id_kind"] == "path-mtime"
                assert m["build_id"] == want_go[m["file"]], f"TZ={tz!r}"
                checked += 1
    assert not threaded, f"mappings only the threads saw: {threaded}"
    assert checked == len(files)


def tzif_with_footer(footer):
    """A TZif v2 file with one type (+01:00 "LMT"), no transitions, and footer."""
    block = (b"TZif2" + bytes(15) + b"".join(n.to_bytes(4, "big") for n in (0, 0, 0, 0, 1, 4))
             + (3600).to_bytes(4, "big") + b"\0\0" + b"LMT\0")
    return block + block + b"\n" + footer + b"\n"


def test_zone_from_crafted_file_equals_go(spawn, tmp_path):
    """Zone files of our own making (TZ=/path), read as Go reads them, in
    both halves of the year (a southern rule's summer spans New Year)."""
    files = [tmp_path / "july.bin", tmp_path / "january.bin"]
    for f in files:
        f.write_bytes(b"not an executable format\n" * 4)
    proc = spawn([FIXTURES / "idmapper", "--mmap", *files])
    subprocess.run(["touch", "-d", "2100-07-01 12:00:00.5 UTC", str(files[0])], check=True)
    subprocess.run(["touch", "-d", "2100-01-15 12:00:00 UTC", str(files[1])], check=True)
    for name, footer in [("odd", b"<+0130>-1:30<+0245>-2:45,J60,300/25"),
                         ("south", b"<-03>3<-02>,M10.1.0/0,M2.3.0/0"),
                         ("bad", b"NOT A RULE")]:
        zone = tmp_path / name
        zone.write_bytes(tzif_with_footer(footer))
        env = env_with_tz(str(zone))
        go = subprocess.run([FIXTURES / "gofix", *files], capture_output=True, text=True,
                            check=True, env=env).stdout.splitlines()
        maps = modmap_json("--pid", proc.pid, "--build-id", "mtime", env=env)["mappings"]
        for f, want in zip(files, go):
            m = [m for m in maps if m["file"] == str(f)][0]
            assert m["build_id"] == f"{f}{want}", name


def test_unprintable_zone_gives_path_with_reason(spawn, tmp_path):
    """An abbreviation too long to print is the path alone, with the reason
    (not a failed snapshot)."""
    f = tmp_path / "module.bin"
    f.write_bytes(b"not an executable format\n" * 4)
    proc = spawn([FIXTURES / "idmapper", "--mmap", f])
    zone = tmp_path / "long"
    zone.write_bytes(tzif_with_footer(b"<" + b"A" * 300 + b">-1"))
    doc = modmap_json("--pid", proc.pid, "--build-id", "mtime", env=env_with_tz(str(zone)))
    m = [m for m in doc["mappings"] if m["file"] == str(f)][0]
    assert m["build_id_kind"] == "path"
    assert m["build_id"] == str(f)
    assert "abbreviation" in m["build_id_error"]
    # The rest of the snapshot is still there, each file with the same reason.
    exe = [m for m in doc["mappings"] if m["file"] == str(FIXTURES / "idmapper")]
    assert exe and all(m["build_id_kind"] == "path" and "abbreviation" in m["build_id_error"]
                       for m in exe)


def test_zone_path_not_a_file(spawn, tmp_path):
    """TZ naming a directory is UTC, as Go makes it; a FIFO is UTC too and
    does not block the read (Go itself would wait on it forever)."""
    f = tmp_path / "module.bin"
    f.write_bytes(b"not an executable format\n" * 4)
    proc = spawn([FIXTURES / "idmapper", "--mmap", f])
    subprocess.run(["touch", "-d", "2021-03-04 05:06:07.5 UTC", str(f)], check=True)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    go_dir = subprocess.run([FIXTURES / "gofix", f], capture_output=True, text=True, check=True,
                            env=env_with_tz(str(tmp_path))).stdout.strip()
    assert go_dir == "2021-03-04 05:06:07.5 +0000 UTC"
    for tz in [str(tmp_path), str(fifo), ":" + str(fifo)]:
        doc = modmap_json("--pid", proc.pid, "--build-id", "mtime", env=env_with_tz(tz))
        m = [m for m in doc["mappings"] if m["file"] == str(f)][0]
        assert m["build_id"] == f"{f}{go_dir}", tz
