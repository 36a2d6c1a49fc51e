"""libmodmap as a program outside the tree sees it: installed with
`make install` into a temporary prefix, found with pkg-config alone, the
example program built against it (shared and static) and run on live
processes from two threads at once.

The oracles: the kernel's /proc/PID/maps (parsed here) for every range,
offset and name, readelf for the build IDs of the files, and the modmap
command, which must print the same records.
"""
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, proc_maps, run_modmap, as_int

EXAMPLE = ROOT / "examples" / "modmap-threads.c"


def sh(*argv, env=None, cwd=None):
    p = subprocess.run([str(a) for a in argv], capture_output=True, env=env, cwd=cwd,
                       timeout=300)
    assert p.returncode == 0, (argv, p.stderr.decode(errors="replace"))
    return p.stdout.decode()


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """The library installed as a distribution would: DESTDIR and PREFIX."""
    dest = tmp_path_factory.mktemp("destdir")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    sh("make", "-s", "-C", ROOT, "install", "PREFIX=/opt/mm", f"DESTDIR={dest}", env=env)
    root = dest / "opt/mm"
    # The .pc file names the final prefix; a consumer of the staged tree
    # points pkg-config at it with --define-prefix, as packagers do.
    return root


def pkg_config(prefix, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"))
    return sh("pkg-config", "--define-prefix", *args, "modmap", env=env).split()


def test_install_lays_out_one_header_libraries_pc_and_man_pages(prefix):
    files = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*")
                   if p.is_file() or p.is_symlink())
    assert files == ["bin/modmap", "include/modmap.h", "lib/libmodmap.a",
                     "lib/libmodmap.so", "lib/libmodmap.so.0",
                     "lib/pkgconfig/modmap.pc", "share/man/man1/modmap.1",
                     "share/man/man3/libmodmap.3"]
    assert os.readlink(prefix / "lib/libmodmap.so") == "libmodmap.so.0"
    dyn = sh("readelf", "-d", prefix / "lib/libmodmap.so.0")
    assert re.search(r"\(SONAME\)\s+Library soname: \[libmodmap\.so\.0\]", dyn), dyn


def test_uninstall_removes_everything_install_put(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    for target in ("install", "uninstall"):
        sh("make", "-s", "-C", ROOT, target, f"PREFIX={tmp_path}/usr", env=env)
    left = [p for p in (tmp_path / "usr").rglob("*") if not p.is_dir()]
    assert left == []


def test_shared_library_exports_only_modmap_names(prefix):
    out = sh("nm", "-D", "--defined-only", prefix / "lib/libmodmap.so.0")
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert "modmap_snapshot_read_sz" in names and "modmap_snapshot_free" in names
    assert [n for n in names if not n.startswith("modmap_")] == []


def test_cli_is_written_on_the_public_header_alone():
    """The command is the API's first user (SPEC): cli/ includes modmap.h
    and its own headers only, and each file compiles with include/ alone
    on the path."""
    own = {p.name for p in (ROOT / "cli").glob("*.h")}
    for f in sorted((ROOT / "cli").glob("*.[ch]")):
        quoted = re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read_text(), re.M)
        assert set(quoted) <= own | {"modmap.h"}, (f.name, quoted)
        if f.suffix == ".c":
            sh("cc", "-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-I", ROOT / "include", f)


def static_lib():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    sh("make", "-s", "-C", ROOT, "build/libmodmap.a", env=env)
    return ROOT / "build/libmodmap.a"


def test_static_library_defines_only_modmap_globals():
    """libmodmap.a: one object whose every global definition is modmap_."""
    lib = static_lib()
    out = sh("nm", "-g", "--defined-only", lib)
    names = [l.split()[-1] for l in out.splitlines() if l.strip() and not l.endswith(":")]
    assert "modmap_snapshot_read_sz" in names and "modmap_write" in names
    assert [n for n in names if not n.startswith("modmap_")] == []


def test_static_consumer_with_the_librarys_internal_names_links_and_runs(tmp_path):
    """A program that defines formats, err_set, buf_reserve, ... links
    against libmodmap.a and both sides keep their own meaning."""
    exe = tmp_path / "collider"
    libs = sh("pkg-config", "--static", "--libs", "zlib").split()
    cppflags = sh("make", "-s", "--no-print-directory", "-C", ROOT, "print-CPPFLAGS")
    if "-DHAVE_CBOR" in cppflags:
        libs += sh("pkg-config", "--static", "--libs", "libcbor").split()
    if "-DHAVE_NETTLE" in cppflags:
        libs += sh("pkg-config", "--static", "--libs", "nettle").split()
    if "-DHAVE_ELFUTILS" in cppflags:
        libs += sh("pkg-config", "--static", "--libs", "libdw").split()
    sh("cc", "-std=c99", "-Wall", "-Werror", "-I", ROOT / "include", "-o", exe,
       ROOT / "tests/fixtures/collider.c", static_lib(), *libs)
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    maps = [l.split(None, 3) for l in lines if l.startswith("MAP ")]
    # Its own executable, as the kernel maps it (the process is gone, but
    # the file is the same: its path).
    assert maps and all(m[3] == str(exe) for m in maps), lines
    assert "MISSING -1 pid 4194304: no such process" in lines
    # The library's errors went through its own err_set, not the program's.
    assert "OWN tsv 0 6 5 7 11" in lines


def test_public_header_is_c99_pedantic_and_cplusplus_and_includes_only_libc(prefix):
    header = prefix / "include/modmap.h"
    includes = re.findall(r"#include\s+(\S+)", header.read_text())
    assert set(includes) <= {"<stddef.h>", "<stdint.h>"}, includes
    for lang, std in (("c", "-std=c99"), ("c++", "-std=c++11")):
        compiler = "cc" if lang == "c" else "c++"
        sh(compiler, "-x", lang, std, "-pedantic", "-Wall", "-Wextra", "-Werror",
           "-fsyntax-only", header)
    # Every name it declares is modmap_ or MODMAP_ (keywords and types aside).
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
    declared = set(re.findall(r"(?:struct|enum)\s+(\w+)\s*[{;]", text))
    declared |= set(re.findall(r"#define\s+(\w+)", text))
    declared |= set(re.findall(r"\b(\w+)\s*\(", text)) - {
        "defined", "__attribute__", "visibility", "extern",
        "void", "int", "char", "const", "size_t",   # types of function pointers
        "sizeof"}   # the size the macros pass (docs/library.md, "The ABI")
    declared |= set(re.findall(r"^\s*(MODMAP_\w+|\w+)\s*[=,]", text, flags=re.M))
    stray = sorted(n for n in declared if not re.match(r"(?i)modmap_", n))
    assert stray == [], stray


def build_example(prefix, out, static):
    if static:
        # A consumer without the shared library, as docs/library.md says,
        # with libmodmap.so installed beside libmodmap.a: -l:libmodmap.a,
        # and what libmodmap.a needs besides itself.
        libdir = pkg_config(prefix, "--variable=libdir")[0]
        private = pkg_config(prefix, "--print-requires-private")
        flags = pkg_config(prefix, "--cflags") + [f"-L{libdir}", "-l:libmodmap.a"]
        flags += sh("pkg-config", "--libs", *private).split()
    else:
        flags = pkg_config(prefix, "--cflags", "--libs")
    sh("cc", "-std=c99", "-Wall", "-Werror", "-o", out, EXAMPLE, *flags, "-lpthread")
    needed = sh("readelf", "-d", out)
    assert ("libmodmap.so.0" in needed) != static, needed
    return out


def example_rows(binary, prefix, pids):
    env = dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib"))
    out = sh(binary, *pids, env=env)
    rows = {}
    for line in out.splitlines():
        pid, start, limit, offset, kind, bid, main, name = line.split("\t")
        rows.setdefault(int(pid), []).append(
            (int(start, 16), int(limit, 16), int(offset, 16), kind, bid, main == "1", name))
    return rows


def cli_rows(pid):
    doc = json.loads(run_modmap("--pid", pid, "-f", "json").stdout)
    return [(as_int(m["start"]), as_int(m["limit"]), as_int(m["offset"]),
             m["build_id_kind"], m["build_id"], m["main"], m["file"])
            for m in doc["mappings"]]


def readelf_build_id(path):
    m = re.search(r"Build ID: ([0-9a-f]+)", sh("readelf", "-n", path))
    return m.group(1) if m else None


@pytest.mark.parametrize("static", [False, True], ids=["shared", "static"])
def test_example_reads_processes_in_threads_as_the_cli_and_the_kernel_say(
        static, prefix, tmp_path, spawn, sleeper):
    binary = build_example(prefix, tmp_path / "modmap-threads", static)
    other = spawn(["cat"], ready_line=False)   # a second program, blocked on stdin
    pids = [sleeper.pid, other.pid]
    # Settled: cat sits in read(0, ...) once its loader is done.
    deadline = time.monotonic() + 10
    while Path(f"/proc/{other.pid}/syscall").read_text().split()[0] != "0":
        assert time.monotonic() < deadline, "cat never blocked on its standard input"
        time.sleep(0.01)
    rows = example_rows(binary, prefix, pids)
    assert sorted(rows) == sorted(pids)
    for pid in pids:
        got = rows[pid]
        # The kernel: every executable, named mapping, in its order.
        kernel = [(m["start"], m["limit"], m["offset"], m["name"])
                  for m in proc_maps(pid) if "x" in m["perms"] and m["name"]]
        assert [(s, l, o, n) for s, l, o, _, _, _, n in got] == kernel
        # readelf: the GNU build ID of each file.
        for s, l, o, kind, bid, main, name in got:
            if name.startswith("/"):
                assert kind == "gnu" and bid == readelf_build_id(name), name
        # The command prints the same records.
        assert got == cli_rows(pid)
        exe = os.readlink(f"/proc/{pid}/exe")
        assert [n for *_, main, n in got if main] == [exe]


def test_example_names_a_process_that_does_not_exist(prefix, tmp_path):
    binary = build_example(prefix, tmp_path / "modmap-threads", False)
    env = dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib"))
    p = subprocess.run([str(binary), "4194304"], capture_output=True, env=env, timeout=60)
    assert p.returncode == 1
    assert p.stderr.decode() == "modmap-threads: pid 4194304: no such process\n"


def build_libwatch(prefix, out):
    flags = pkg_config(prefix, "--cflags", "--libs")
    sh("cc", "-std=c99", "-Wall", "-Werror", "-o", out, ROOT / "tests/fixtures/libwatch.c",
       *flags)
    return out


def test_watch_api_follows_a_dlopen_and_the_exit(prefix, tmp_path):
    from conftest import FIXTURES, start
    binary = build_libwatch(prefix, tmp_path / "libwatch")
    env = dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib"))
    lib = str((FIXTURES / "libfix.so").resolve())
    fix = start([FIXTURES / "dlwatch"])
    w = subprocess.Popen([str(binary), str(fix.pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        kernel = [(m["start"], m["limit"], m["name"]) for m in proc_maps(fix.pid)
                  if "x" in m["perms"] and m["name"]]

        def line():
            fields = w.stdout.readline().decode().rstrip("\n").split("\t")
            assert len(fields) == 6, fields
            return fields[0], int(fields[1]), int(fields[2], 16), int(fields[3], 16), \
                fields[4], fields[5]

        first = [line() for _ in kernel]
        assert [(k, s, l, f) for k, _, s, l, _, f in first] == \
            [("load", s, l, n) for s, l, n in kernel]
        fix.popen.stdin.write(f"open {lib}\n".encode())
        fix.popen.stdin.flush()
        assert fix.popen.stdout.readline() == b"opened\n"
        kind, t1, start_, limit, bid, name = line()
        assert (kind, name, bid) == ("load", lib, readelf_build_id(lib))
        assert any(m["start"] == start_ and m["limit"] == limit and m["name"] == lib
                   for m in proc_maps(fix.pid))
        fix.popen.stdin.write(b"close\n")
        fix.popen.stdin.flush()
        assert fix.popen.stdout.readline() == b"closed\n"
        kind, t2, s2, l2, bid2, name2 = line()
        assert (kind, s2, l2, bid2, name2) == ("unload", start_, limit, bid, lib)
        fix.popen.stdin.write(b"exit\n")
        fix.popen.stdin.flush()
        kind, t3, s3, l3, bid3, name3 = line()
        assert (kind, s3, l3, bid3, name3) == ("exit", 0, 0, "", "")
        assert first[0][1] <= t1 <= t2 <= t3
        # A poll after the exit finds nothing new: no second exit, no error.
        assert w.stdout.readline() == b"after-exit\t0\n"
        assert w.wait(timeout=30) == 0
    finally:
        fix.stop()
        if w.poll() is None:
            w.kill()
        w.wait()


def test_options_procfs_that_is_no_procfs_is_bad_input(prefix, tmp_path):
    binary = build_libwatch(prefix, tmp_path / "libwatch")
    env = dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib"))
    p = subprocess.run([str(binary), "--read", str(tmp_path)], capture_output=True, env=env,
                       timeout=60)
    assert p.returncode == 1
    code, msg = p.stdout.decode().rstrip("\n").split(" ", 1)
    assert (code, msg) == ("bad-input", f"{tmp_path}: not a proc filesystem")
    p = subprocess.run([str(binary), "--read", "/proc"], capture_output=True, env=env,
                       timeout=60)
    assert p.stdout == b"ok\n"


APIPROBE = ROOT / "build" / "fixtures" / "apiprobe"

# A process with a shared, writable mapping of a deleted file on a tmpfs
# (device 0:N with N > 0), a private read-only one of a file kept on the
# root filesystem, and its own libraries.
MAPPING_MIX = r"""
import mmap, os, sys
shared = os.path.join(sys.argv[1], "shared")
with open(shared, "wb") as f:
    f.write(b"x" * 8192)
fd = os.open(shared, os.O_RDWR)
a = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.unlink(shared)
kept = sys.argv[2]
fd2 = os.open(kept, os.O_RDONLY)
b = mmap.mmap(fd2, 4096, mmap.MAP_PRIVATE, mmap.PROT_READ)
print("ready", flush=True)
sys.stdin.read()
"""


def test_every_field_of_a_mapping_is_the_kernels(spawn, tmp_path):
    """Every field of struct modmap_mapping, as a program using only
    modmap.h receives it, against /proc/PID/maps read here: range, offset,
    perms (rwx and shared), deleted, inode, device major and minor, and
    main; the build IDs against readelf -n."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.statvfs(shm).f_bsize == 0:
        pytest.skip("no /dev/shm")
    scratch = Path(subprocess.run(["mktemp", "-d", "-p", str(shm)], capture_output=True,
                                  text=True, check=True).stdout.strip())
    kept = tmp_path / "kept"
    kept.write_bytes(b"k" * 4096)
    try:
        proc = spawn(["/usr/bin/python3", "-c", MAPPING_MIX, scratch, kept])
    finally:
        shutil.rmtree(scratch)
    got = []
    for line in sh(APIPROBE, "maps", proc.pid).splitlines():
        f = line.split("\t")
        assert len(f) == 12, line
        got.append(f)
    kernel = proc_maps(proc.pid)
    assert len(got) == len(kernel), (got, kernel)
    exe = os.readlink(f"/proc/{proc.pid}/exe")
    seen = set()
    for g, k in zip(got, kernel):
        start, limit, offset, perms, deleted, inode, major, minor, main, kind, bid, name = g
        assert (int(start, 16), int(limit, 16), int(offset, 16)) == \
            (k["start"], k["limit"], k["offset"]), (g, k)
        assert perms == k["perms"], (g, k)
        kmajor, kminor = (int(x, 16) for x in k["dev"].split(":"))
        assert (int(major), int(minor)) == (kmajor, kminor), (g, k)
        assert int(inode) == k["inode"], (g, k)
        is_deleted = k["name"].endswith(" (deleted)") and k["inode"] != 0
        assert deleted == str(int(is_deleted)), (g, k)
        assert name == (k["name"].removesuffix(" (deleted)") if is_deleted else k["name"])
        assert main == str(int(name == exe)), (g, k)
        if kind == "gnu" and name.startswith("/"):
            assert bid == readelf_build_id(name), g
        seen.add((perms, deleted, kminor != 0 and kmajor == 0))
    # What the process was made to hold is there: a shared writable deleted
    # file on a device with major 0 and a nonzero minor, a private file.
    assert ("rw-s", "1", True) in seen, seen
    assert any(p == "r--p" for p, _, _ in seen), seen
    # The kept file's inode and device, from stat(2).
    st = os.stat(kept)
    rows = [g for g in got if g[11] == str(kept)]
    assert rows and all((int(g[5]), int(g[6]), int(g[7])) ==
                        (st.st_ino, os.major(st.st_dev), os.minor(st.st_dev)) for g in rows)
