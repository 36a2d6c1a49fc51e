"""modmap collect: the binaries a profile needs, kept where symbolizers look.

Oracles: readelf -n (the build ID a file carries), cmp against copies of
the originals saved aside, google/pprof's own command built from Debian's
source (it finds binaries by build ID under PPROF_BINARY_PATH), GDB's
debug-file-directory and elfutils' debuginfo path (.build-id/xx/rest).
"""
import os
import re
import shutil
import stat
import subprocess
import json
from pathlib import Path

import pytest

from conftest import BUILD, FIXTURES, MODMAP, proc_maps, run_modmap, need, needs, wait_zombie, need_memory_of_a_sibling

PPROF = BUILD / "pprof"


def gnu_build_id(path):
    """The GNU build ID as readelf -n prints it."""
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, f"{path}: readelf -n shows no build ID"
    return m.group(1)


def symbol_value(path, name, dynamic=False):
    """st_value of a defined function symbol, as nm prints it."""
    out = subprocess.run(["nm", *(["-D"] if dynamic else []), "--defined-only", str(path)],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name and f[1] in "tT":
            return int(f[0], 16)
    raise AssertionError(f"{path}: no function {name}")


def first_load_vaddr(path):
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            return int(f[2], 16)
    raise AssertionError(f"{path}: no PT_LOAD")


def load_bias(pid, path, copy):
    """Where the kernel put path in pid: the offset-0 mapping's start (from
    /proc/PID/maps) minus the first PT_LOAD's link-time address (of copy,
    the same file saved aside)."""
    for m in proc_maps(pid):
        name = m["name"].removesuffix(" (deleted)")
        if name == str(path) and m["offset"] == 0:
            return m["start"] - first_load_vaddr(copy)
    raise AssertionError(f"{path} not mapped in {pid}")


def libc_of(pid):
    for m in proc_maps(pid):
        if re.search(r"/libc\.so\.6$", m["name"]):
            return Path(m["name"])
    raise AssertionError("no libc mapped")


@pytest.fixture
def deleted_lib(spawn, tmp_path):
    """mapper, copied to a scratch dir, with libfix.so loaded and then
    deleted; the originals saved aside in tmp_path/orig."""
    work = tmp_path / "bin"
    orig = tmp_path / "orig"
    work.mkdir()
    orig.mkdir()
    for f in ("mapper", "libfix.so"):
        shutil.copy2(FIXTURES / f, work / f)
        shutil.copy2(FIXTURES / f, orig / f)
    proc = spawn([work / "mapper", f"load-unlink:{work / 'libfix.so'}"])
    assert not (work / "libfix.so").exists()
    proc.work, proc.orig = work, orig
    return proc


@needs("map_files")   # the deleted library is copied through map_files
def test_deleted_library_in_both_layouts(deleted_lib, tmp_path):
    proc = deleted_lib
    out = tmp_path / "dir"
    p = run_modmap("collect", "--pid", proc.pid, "-o", out)
    err = p.stderr.decode()
    assert re.search(r"collected into .*: [1-9]\d* files copied \(\d+ bytes\), 0 already "
                     r"present, 0 skipped\n$", err), err
    libc = libc_of(proc.pid)
    for original, name in ((proc.orig / "mapper", "mapper"),
                           (proc.orig / "libfix.so", "libfix.so"),
                           (libc, "libc.so.6")):
        bid = gnu_build_id(original)
        kept = out / bid / name
        linked = out / ".build-id" / bid[:2] / bid[2:]
        for f in (kept, linked, Path(str(linked) + ".debug")):
            assert f.is_file(), f"{f} missing"
            subprocess.run(["cmp", str(original), str(f)], check=True)
            assert gnu_build_id(f) == bid
        assert os.stat(kept).st_ino == os.stat(linked).st_ino, "not a hard link"
    assert not list(out.rglob(".tmp.*")), "temporary files left"

    # Run again: everything is there already, nothing is copied.
    p = run_modmap("collect", "--pid", proc.pid, "-o", out)
    assert re.search(r": 0 files copied \(0 bytes\), [1-9]\d* already present, 0 skipped",
                     p.stderr.decode()), p.stderr.decode()


def pprof_traces(profile, binary_path):
    env = dict(os.environ, PPROF_BINARY_PATH=str(binary_path), HOME=str(binary_path))
    p = subprocess.run([str(PPROF), "-symbolize=local", "-traces", str(profile)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


@needs("map_files")   # the deleted library is copied through map_files
def test_profile_symbolizes_after_binaries_are_gone(deleted_lib, tmp_path, modmap):
    if not PPROF.exists():
        pytest.fail(f"{PPROF} missing: make {PPROF.relative_to(BUILD.parent)}")
    proc = deleted_lib
    exe, lib = proc.work / "mapper", proc.work / "libfix.so"
    main = load_bias(proc.pid, exe, proc.orig / "mapper") + \
        symbol_value(proc.orig / "mapper", "main")
    value = load_bias(proc.pid, lib, proc.orig / "libfix.so") + \
        symbol_value(proc.orig / "libfix.so", "libfix_value")
    bare = tmp_path / "bare.pb.gz"
    subprocess.run([str(FIXTURES / "pprofedit"), "addrs", str(bare), hex(main), hex(value)],
                   check=True)
    mapped = tmp_path / "mapped.pb.gz"
    out = tmp_path / "dir"
    # One step: the profile gets its mapping table, the binaries are kept.
    p = run_modmap("attach", "--pid", proc.pid, bare, "-o", mapped, "--collect", out)
    assert re.search(r"attached \d+ mappings from pid \d+: 2 of 2 locations mapped\n"
                     r"modmap: collected into .*: [1-9]\d* files copied", p.stderr.decode())

    # A stripped twin of the executable (same build ID) for GDB to find
    # its symbols through the .build-id layout.
    stripped = tmp_path / "mapper.stripped"
    subprocess.run(["strip", "--strip-all", "-o", str(stripped), str(proc.orig / "mapper")],
                   check=True)
    main_vaddr = symbol_value(proc.orig / "mapper", "main")
    value_vaddr = symbol_value(proc.orig / "libfix.so", "libfix_value")
    lib_id = gnu_build_id(proc.orig / "libfix.so")

    proc.stop()
    os.unlink(exe)
    shutil.rmtree(proc.orig)

    empty = tmp_path / "empty"
    empty.mkdir()
    without = pprof_traces(mapped, empty)
    assert "libfix_value" not in without and " main" not in without, without
    traces = pprof_traces(mapped, out)
    assert re.search(r"^\s*\S+\s+main$", traces, re.M), traces
    assert re.search(r"^\s*\S+\s+libfix_value$", traces, re.M), traces

    # GDB: debug-file-directory DIR holds .build-id/xx/rest.debug.
    def gdb(debug_dir):
        p = subprocess.run(["gdb", "-nx", "-batch", "-ex",
                            f"set debug-file-directory {debug_dir}", "-ex",
                            f"file {stripped}", "-ex", f"info symbol {main_vaddr:#x}"],
                           capture_output=True, text=True, timeout=120)
        return p.stdout + p.stderr
    assert re.search(r"^main in section \.text", gdb(out / ".build-id" / ".."), re.M)
    assert not re.search(r"^main in section", gdb(empty), re.M)

    # elfutils: the library by build ID alone, from DIR/.build-id/xx/rest.
    p = subprocess.run(["eu-addr2line", "-f", "-e",
                        str(out / ".build-id" / lib_id[:2] / lib_id[2:]), hex(value_vaddr)],
                       capture_output=True, text=True, check=True)
    assert p.stdout.splitlines()[0] == "libfix_value", p.stdout
    p = subprocess.run(["eu-addr2line", "-f", "--debuginfo-path", str(out), "-e", str(stripped),
                        hex(main_vaddr)], capture_output=True, text=True, check=True)
    assert p.stdout.splitlines()[0] == "main", p.stdout


# ---- hostile ---------------------------------------------------------------

# Without these two capabilities /proc/PID/map_files is refused, as it is
# to anyone but a privileged root: modmap then has only the path to go by.
NO_MAP_FILES = ["setpriv", "--bounding-set", "-sys_admin,-checkpoint_restore"]


def collect_bounded(*args, prefix=()):
    """modmap collect, bounded in time: a FIFO it opened would block it."""
    return subprocess.run([*prefix, str(MODMAP), "collect", *map(str, args)],
                          capture_output=True, timeout=60)


def leftovers(root):
    return [p for p in Path(root).rglob("*") if p.name.startswith(".tmp.")]


def need_root(why):
    need("root")   # {why}: skipped as conftest says, deselected where expected missing


@pytest.fixture
def hidden_lib(spawn, tmp_path):
    """mapper with libfix.so loaded, then a tmpfs mounted over the library's
    directory: the mapping still names the path, which now leads to
    whatever the test puts there (as a bind mount or a container's own
    root would)."""
    need_root("to mount over the library's directory")
    (tmp_path / "exe").mkdir()
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy2(FIXTURES / "mapper", tmp_path / "exe" / "mapper")
    lib = libdir / "libfix.so"
    shutil.copy2(FIXTURES / "libfix.so", lib)
    bid = gnu_build_id(lib)
    proc = spawn([tmp_path / "exe" / "mapper", f"load:{lib}"])
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "modmap-test", str(libdir)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    proc.lib, proc.bid = lib, bid
    yield proc
    proc.stop()
    subprocess.run(["umount", str(libdir)], check=True)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "other-file"])
def test_something_else_at_the_mapped_path(hidden_lib, tmp_path, kind):
    proc, lib, bid = hidden_lib, hidden_lib.lib, hidden_lib.bid
    if kind == "fifo":
        os.mkfifo(lib)
    elif kind == "device":
        os.mknod(lib, 0o666 | stat.S_IFCHR, os.makedev(1, 3))	# /dev/null
    elif kind == "directory":
        lib.mkdir()
    else:
        shutil.copy2(FIXTURES / "libfix-md5.so", lib)	# another build ID
    out = tmp_path / "dir"
    p = collect_bounded("--pid", proc.pid, "-o", out, prefix=NO_MAP_FILES)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    why = "file at the path is not the mapped file" if kind == "other-file" \
        else "not a regular file"
    assert f"modmap: pid {proc.pid}: {lib}: {why}\n" in err, err
    assert re.search(rf", 1 skipped \(1 {why}\)\n$", err), err
    assert not (out / bid).exists(), "published what is not the mapped file"
    assert not (out / ".build-id" / bid[:2] / bid[2:]).exists()
    assert (out / gnu_build_id(FIXTURES / "mapper") / "mapper").is_file(), "the rest is kept"
    assert not leftovers(out)
    if kind == "fifo":
        # Where map_files opens, the mapped file itself is kept all the same.
        p = collect_bounded("--pid", proc.pid, "-o", out)
        assert p.returncode == 0, p.stderr.decode()
        subprocess.run(["cmp", str(FIXTURES / "libfix.so"), str(out / bid / "libfix.so")],
                       check=True)


def test_deleted_without_map_files_is_named(deleted_lib, tmp_path):
    need_root("to drop the capabilities /proc/PID/map_files needs")
    out = tmp_path / "dir"
    p = collect_bounded("--pid", deleted_lib.pid, "-o", out, prefix=NO_MAP_FILES)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    lib = deleted_lib.work / "libfix.so"
    assert f"pid {deleted_lib.pid}: {lib}: file deleted; map_files needs CAP_SYS_ADMIN\n" in err
    assert not (out / gnu_build_id(deleted_lib.orig / "libfix.so")).exists()


def mount_tmpfs(where, options):
    need_root("to mount a tmpfs")
    where.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "modmap-test", str(where)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")


@pytest.fixture
def small_fs(tmp_path):
    where = tmp_path / "small"
    mount_tmpfs(where, "size=64k")
    yield where
    subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def readonly_fs(tmp_path):
    where = tmp_path / "ro"
    mount_tmpfs(where, "ro,size=64k")
    yield where
    subprocess.run(["umount", str(where)], check=True)


def test_full_filesystem_publishes_nothing_partial(deleted_lib, small_fs):
    p = collect_bounded("--pid", deleted_lib.pid, "-o", small_fs)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    libc = libc_of(deleted_lib.pid)
    assert re.search(rf"pid {deleted_lib.pid}: {re.escape(str(libc))}: copy failed: .*No space "
                     r"left on device\n", err), err
    assert not leftovers(small_fs)
    # What is there is whole: every published file is its original.
    for f in small_fs.glob("*/*"):
        if f.parent.name != ".build-id":
            assert gnu_build_id(f) == f.parent.name
    assert not (small_fs / gnu_build_id(libc)).exists()


def test_readonly_directory(deleted_lib, readonly_fs):
    p = collect_bounded("--pid", deleted_lib.pid, "-o", readonly_fs)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert re.search(r"cannot write to the directory: .*: Read-only file system\n", err), err
    assert re.search(r": 0 files copied \(0 bytes\), 0 already present, [1-9]\d* skipped "
                     r"\([1-9]\d* cannot write to the directory\)\n$", err), err


@needs("map_files")   # the deleted library is copied through map_files
def test_max_file_size(deleted_lib, tmp_path):
    out = tmp_path / "dir"
    libc = libc_of(deleted_lib.pid)
    size = libc.stat().st_size
    p = collect_bounded("--pid", deleted_lib.pid, "-o", out, "--max-file-size", size - 1)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert f"{libc}: larger than the size limit: {size} bytes, over the limit of {size - 1}\n" \
        in err, err
    assert "(--max-file-size)" in err
    assert not (out / gnu_build_id(libc)).exists()
    p = collect_bounded("--pid", deleted_lib.pid, "-o", out, "--max-file-size", size)
    assert p.returncode == 0, p.stderr.decode()
    subprocess.run(["cmp", str(libc), str(out / gnu_build_id(libc) / "libc.so.6")], check=True)


def test_dir_is_a_file(deleted_lib, tmp_path):
    f = tmp_path / "file"
    f.write_bytes(b"x")
    p = collect_bounded("--pid", deleted_lib.pid, "-o", f)
    assert p.returncode == 1
    assert f"modmap: {f}: not a directory\n" in p.stderr.decode(), p.stderr.decode()
    assert f.read_bytes() == b"x"


def test_usage():
    for args in ([], ["--pid", "1", "--self"], ["--self", "-o", ""],
                 ["--self", "--max-file-size", "0"], ["--self", "extra"]):
        p = collect_bounded(*args)
        assert p.returncode == 2, args
        assert p.stderr.decode().startswith("modmap: collect: "), p.stderr
    p = subprocess.run([str(MODMAP), "attach", "--snapshot", "x", "y", "--collect", "d"],
                       capture_output=True, timeout=60)
    assert p.returncode == 2 and b"--collect needs --pid" in p.stderr
    p = collect_bounded("--help")
    assert p.returncode == 0 and b"--max-file-size" in p.stdout


def test_default_dir_is_home_pprof_binaries(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run([str(MODMAP), "collect", "--self"], capture_output=True, env=env,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    own = gnu_build_id(MODMAP)
    assert (tmp_path / "pprof" / "binaries" / own / "modmap").is_file()


def test_container_file_from_inside_its_root(spawn, tmp_path):
    """A process in another mount namespace, where the mapped path holds
    another library than in ours: collect keeps the process's own, read
    inside /proc/PID/root, also without map_files."""
    need_root("to make a mount namespace")
    outside, theirs = tmp_path / "x", tmp_path / "theirs"
    outside.mkdir()
    theirs.mkdir()
    shutil.copy2(FIXTURES / "libfix-md5.so", outside / "lib.so")
    shutil.copy2(FIXTURES / "libfix-uuid.so", theirs / "lib.so")
    want = gnu_build_id(theirs / "lib.so")
    assert want != gnu_build_id(outside / "lib.so")
    script = (f"mount --bind {theirs} {outside} && "
              f"exec {FIXTURES / 'idmapper'} --mmap {outside / 'lib.so'}")
    proc = spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    for prefix in ([], NO_MAP_FILES):
        out = tmp_path / f"dir{len(prefix)}"
        p = collect_bounded("--pid", proc.pid, "-o", out, prefix=prefix)
        assert p.returncode == 0, p.stderr.decode()
        subprocess.run(["cmp", str(theirs / "lib.so"), str(out / want / "lib.so")], check=True)
        assert not (out / gnu_build_id(outside / "lib.so")).exists()


@pytest.fixture
def roomy_fs(tmp_path):
    where = tmp_path / "roomy"
    mount_tmpfs(where, "size=64m")
    yield where
    subprocess.run(["umount", str(where)], check=True)


@needs("uninstrumented")   # LeakSanitizer cannot run under strace
def test_copy_file_range_and_its_fallback(deleted_lib, tmp_path, roomy_fs):
    """Within one filesystem the bytes move with copy_file_range; from
    another (disk to tmpfs, EXDEV) with read and write. strace is the judge
    of which; cmp of what."""
    if not shutil.which("strace"):
        pytest.skip("strace is needed to see the system calls")
    libc = libc_of(deleted_lib.pid)
    bid = gnu_build_id(libc)
    for out, want in ((tmp_path / "dir", "copy_file_range"), (roomy_fs / "d", "read")):
        trace = tmp_path / f"trace-{want}"
        p = subprocess.run(["strace", "-f", "-o", str(trace), "-e",
                            "trace=copy_file_range,read,write,pread64,pwrite64", str(MODMAP),
                            "collect",
                            "--pid", str(deleted_lib.pid), "-o", str(out)],
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode()
        calls = trace.read_text()
        subprocess.run(["cmp", str(libc), str(out / bid / "libc.so.6")], check=True)
        if want == "copy_file_range":
            if os.stat(libc).st_dev != os.stat(tmp_path).st_dev:
                continue    # libc and the test's directory on two filesystems
            assert re.search(r"copy_file_range\(.*\) = [1-9]\d*\n", calls), calls[-2000:]
        else:
            assert re.search(r"copy_file_range\(.*\) = -1 EXDEV", calls), calls[-2000:]
            assert re.search(r"p?write(64)?\(\d+, .*\) = 1048576\n", calls), calls[-2000:]


def test_zombie_leader_is_looked_up_through_a_live_thread(spawn, tmp_path):
    """Main thread gone, another running, executable deleted: lookup reads
    the program headers from memory through the live thread, as the
    snapshot does (a zombie leader has no memory, and no map_files)."""
    need_memory_of_a_sibling()
    exe = tmp_path / "zl"
    shutil.copy(FIXTURES / "zombieleader", exe)
    keep = tmp_path / "orig"
    shutil.copy(exe, keep)
    proc = spawn([exe])
    pid, tid = (int(x) for x in proc.ready.split()[1:])
    wait_zombie(pid)
    exe.unlink()
    text = [m for m in proc_maps(tid)
            if m["name"].startswith(str(exe)) and "x" in m["perms"]][0]
    p = run_modmap("lookup", "--pid", pid, "-f", "json", hex(text["start"]))
    (answer,) = json.loads(p.stdout)
    assert answer["mapped"] and "elf_vaddr" in answer, answer
    assert int(answer["elf_vaddr"], 16) == first_text_vaddr(keep, text["offset"])


def first_text_vaddr(path, offset):
    """The link-time address of file offset `offset`, from readelf -lW."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if off <= offset < off + filesz:
                return vaddr + offset - off
    raise AssertionError(f"no PT_LOAD holds offset {offset:#x} in {path}")


def test_build_id_links_fall_back_to_symlinks_that_resolve(spawn, tmp_path):
    """Where .build-id lies on another filesystem (hard links refused with
    EXDEV), collect links each file by a relative symbolic link: every one
    must lead to the copy it names, as GDB and elfutils follow it.
    Oracles: os.path.realpath, readelf -n on what the link reaches."""
    lib = tmp_path / "libfix.so"
    shutil.copy2(FIXTURES / "libfix.so", lib)
    proc = spawn([FIXTURES / "mapper", f"load:{lib}"])
    out = tmp_path / "dir"
    out.mkdir()
    mount_tmpfs(out / ".build-id", "size=1m")
    try:
        p = collect_bounded("--pid", proc.pid, "-o", out)
        err = p.stderr.decode()
        assert p.returncode == 0, err
        assert "cannot link" not in err, err
        wanted = {gnu_build_id(lib): "libfix.so", gnu_build_id(FIXTURES / "mapper"): "mapper",
                  gnu_build_id(libc_of(proc.pid)): "libc.so.6"}
        for bid, name in wanted.items():
            kept = out / bid / name
            assert kept.is_file() and not kept.is_symlink(), f"{kept} missing"
            for link in (out / ".build-id" / bid[:2] / bid[2:],
                         out / ".build-id" / bid[:2] / (bid[2:] + ".debug")):
                assert link.is_symlink(), f"{link}: not a symbolic link"
                assert not os.path.isabs(os.readlink(link)), f"{link}: absolute"
                assert os.path.realpath(link) == os.path.realpath(kept), \
                    f"{link} -> {os.readlink(link)} does not lead to {kept}"
                assert gnu_build_id(link) == bid
        # The whole directory moved elsewhere: the links still resolve.
        moved = tmp_path / "moved"
        shutil.copytree(out, moved, symlinks=True)
        for bid, name in wanted.items():
            link = moved / ".build-id" / bid[:2] / bid[2:]
            assert os.path.realpath(link) == os.path.realpath(moved / bid / name)
    finally:
        subprocess.run(["umount", str(out / ".build-id")], check=True)


def test_file_overwritten_in_place_without_a_build_id_is_not_published(spawn, tmp_path):
    """The mapped file rewritten in place (same inode, so the device/inode
    check passes) by one with no build ID at all, between the snapshot and
    the copy: the copy carries no build ID, and nothing is published under
    the mapping's. A program using modmap.h takes the snapshot, waits, then
    collects. Oracles: readelf -n on the files, stat(2) for the inode."""
    libdir = tmp_path / "lib"
    libdir.mkdir()
    lib = libdir / "libfix.so"
    shutil.copy2(FIXTURES / "libfix.so", lib)
    bid = gnu_build_id(lib)
    proc = spawn([FIXTURES / "mapper", f"load:{lib}"])
    out = tmp_path / "dir"
    probe = spawn([FIXTURES / "apiprobe", "collect", proc.pid, out])
    assert probe.ready == "snapshot", probe.ready
    ino = os.stat(lib).st_ino
    idless = (FIXTURES / "libfix-none.so").read_bytes()
    with open(lib, "r+b") as f:
        f.write(idless)
        f.truncate()
    assert os.stat(lib).st_ino == ino, "not rewritten in place"
    p = subprocess.run(["readelf", "-n", str(lib)], capture_output=True, text=True)
    assert "Build ID" not in p.stdout, "the new contents carry a build ID"
    text, _ = probe.popen.communicate(b"go\n", timeout=60)
    text = text.decode()
    assert probe.popen.returncode == 0, text
    assert f"skipped: pid {proc.pid}: {lib}: contents have another build ID" in text, text
    assert re.search(r"^collect: 1 [1-9]\d* 0 1$", text, re.M), text
    assert not (out / bid).exists(), "published a file without the mapping's build ID"
    assert not (out / ".build-id" / bid[:2] / bid[2:]).exists()
    assert (out / gnu_build_id(FIXTURES / "mapper") / "mapper").is_file(), "the rest is kept"
    assert not leftovers(out)
