"""Build IDs end to end: every kind modmap gives, checked against the tools
that read the same files (readelf, eu-readelf, go tool buildid,
x86_64-w64-mingw32-objdump), the path+mtime string against Go's own, and
hostile targets: malformed files, FIFOs, files replaced behind a mapping,
processes in another root.

Most tests read files with --source maps, so that modmap reads the files
itself; where the kernel has PROCMAP_QUERY it hands out GNU build IDs on
its own, and the "auto" runs check that both sources agree.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, MODMAP, modmap_json, needs

SOURCES = ["maps", "auto"]
# Without these two capabilities /proc/PID/map_files is refused, as it is
# to anyone but a privileged root: modmap then has only the path to go by.
NO_MAP_FILES = ["setpriv", "--bounding-set", "-sys_admin,-checkpoint_restore"]


def readelf_build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def eu_readelf_build_id(path):
    out = subprocess.run(["eu-readelf", "-n", str(path)], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def mappings(pid, *args, source="maps", env=None):
    doc = modmap_json("--pid", pid, "--source", source, *args, env=env)
    return doc["mappings"]


def by_file(maps, path):
    found = [m for m in maps if m["file"] == str(path)]
    assert found, f"{path} not in {[m['file'] for m in maps]}"
    return found[0]


def is_path_mtime(build_id, path):
    """path immediately followed by Go's time.Time.String()."""
    return re.fullmatch(re.escape(str(path)) +
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+",
                        build_id) is not None


def start_mapper(spawn, *files, mmap=False, prefix=(), exe=None):
    argv = [*prefix, exe or FIXTURES / "idmapper"]
    if mmap:
        argv.append("--mmap")
    return spawn([*argv, *files])


# ---- ELF: GNU notes of every kind -----------------------------------------

LIBS = ["libfix.so", "libfix-md5.so", "libfix-uuid.so"]


@pytest.mark.parametrize("source", SOURCES)
def test_gnu_build_ids_match_readelf(spawn, source):
    libs = [FIXTURES / n for n in LIBS]
    proc = start_mapper(spawn, *libs, FIXTURES / "libfix-none.so")
    for mode in ["auto", "native"]:
        maps = mappings(proc.pid, "--build-id", mode, source=source)
        for lib, length in zip(libs, [40, 32, 32]):
            want = readelf_build_id(lib)
            assert want == eu_readelf_build_id(lib)
            assert len(want) == length
            m = by_file(maps, lib)
            assert m["build_id"] == want
            assert m["build_id_kind"] == "gnu"
            assert "build_id_error" not in m
        none = by_file(maps, FIXTURES / "libfix-none.so")
        assert readelf_build_id(FIXTURES / "libfix-none.so") is None
        assert none["build_id_kind"] == "path-mtime"
        assert is_path_mtime(none["build_id"], FIXTURES / "libfix-none.so")
        # The main executable and libc have theirs too.
        main = by_file(maps, FIXTURES / "idmapper")
        assert main["build_id"] == readelf_build_id(FIXTURES / "idmapper")


def test_other_modes(spawn):
    lib = FIXTURES / "libfix.so"
    proc = start_mapper(spawn, lib)
    m = by_file(mappings(proc.pid, "--build-id", "none"), lib)
    assert m["build_id"] == "" and m["build_id_kind"] == "none"
    m = by_file(mappings(proc.pid, "--build-id", "mtime"), lib)
    assert m["build_id_kind"] == "path-mtime"
    assert is_path_mtime(m["build_id"], lib)


@needs("m32")
def test_32bit(spawn):
    """A 32-bit process, and a 32-bit library mapped by a 64-bit one."""
    lib32 = FIXTURES / "libfix32.so"
    proc = start_mapper(spawn, lib32, exe=FIXTURES / "idmapper32")
    maps = mappings(proc.pid)
    assert by_file(maps, FIXTURES / "idmapper32")["build_id"] == \
        readelf_build_id(FIXTURES / "idmapper32")
    assert by_file(maps, lib32)["build_id"] == readelf_build_id(lib32)
    proc64 = start_mapper(spawn, lib32, mmap=True)
    m = by_file(mappings(proc64.pid), lib32)
    assert m["build_id"] == eu_readelf_build_id(lib32)
    assert m["build_id_kind"] == "gnu"


# ---- Go -------------------------------------------------------------------

def go_tool_buildid(path):
    return subprocess.run(["go", "tool", "buildid", str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize("source", SOURCES)
@needs("go")
def test_go_build_id(spawn, source):
    exe = FIXTURES / "gofix"
    proc = spawn([exe])
    want = go_tool_buildid(exe)
    m = by_file(mappings(proc.pid, "--build-id", "native", source=source), exe)
    assert m["build_id_kind"] == "go"
    assert m["build_id"] == want
    assert m["go_build_id"] == want
    m = by_file(mappings(proc.pid, source=source), exe)
    assert m["build_id_kind"] == "path-mtime"
    assert is_path_mtime(m["build_id"], exe)
    # The other identities are native's: auto gives the same keys from
    # either source, whether or not it had to read the file.
    assert "go_build_id" not in m


@pytest.mark.parametrize("source", SOURCES)
@needs("go")
def test_go_with_gnu_note_outside_pt_note(spawn, source):
    """Go 1.19 puts its -B note in a section no PT_NOTE covers."""
    exe = FIXTURES / "gofix-gnu"
    want = readelf_build_id(exe)
    assert want == "60f1c0ffee0123456789abcdef0123456789abcd"
    proc = spawn([exe])
    for mode in ["auto", "native"]:
        m = by_file(mappings(proc.pid, "--build-id", mode, source=source), exe)
        assert m["build_id"] == want and m["build_id_kind"] == "gnu"
    # native reads the file even where the kernel handed out the GNU ID,
    # so the Go build ID is there from both sources.
    m = by_file(mappings(proc.pid, "--build-id", "native", source=source), exe)
    assert m["go_build_id"] == go_tool_buildid(exe)


def test_sources_agree_in_every_mode(spawn):
    """Both sources give the same records, extra identities included."""
    proc = spawn([FIXTURES / "idmapper", str(FIXTURES / "libfix-md5.so")])
    gnu = spawn([FIXTURES / "gofix-gnu"])
    for pid in (proc.pid, gnu.pid):
        for mode in ["auto", "native", "mtime", "none"]:
            docs = [modmap_json("--pid", pid, "--build-id", mode, "--source", src,
                                "--mappings", "all") for src in SOURCES]
            for d in docs:
                del d["time"]
            assert docs[0] == docs[1], (pid, mode)


# ---- PE -------------------------------------------------------------------

def objdump_pe(path, tool="x86_64-w64-mingw32-objdump"):
    """The CodeView signature+age and the image key, as objdump -p shows them."""
    out = subprocess.run([tool, "-p", str(path)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"format RSDS signature ([0-9a-f]{32}) age (\d+) pdb (.*)\)", out)
    sig = f"{m.group(1).upper()}{int(m.group(2)):X}" if m else None
    pdb = m.group(3) if m and m.group(3) != "(none)" else None
    size = int(re.search(r"SizeOfImage\s+([0-9a-f]+)", out).group(1), 16)
    return sig, pdb, size


def pe_header(path):
    """TimeDateStamp from the COFF header and the raw RSDS record, by hand."""
    data = Path(path).read_bytes()
    lfanew = struct.unpack_from("<I", data, 0x3C)[0]
    stamp = struct.unpack_from("<I", data, lfanew + 8)[0]
    i = data.find(b"RSDS")
    sig = None
    if i >= 0:
        d1, d2, d3 = struct.unpack_from("<IHH", data, i + 4)
        d4 = data[i + 12:i + 20]
        age = struct.unpack_from("<I", data, i + 20)[0]
        sig = f"{d1:08X}{d2:04X}{d3:04X}{d4.hex().upper()}{age:X}"
    return stamp, sig


PE_FILES = [("pefix-cv.exe", True, "x86_64"), ("pefix-cv.dll", True, "x86_64"),
            ("pefix.exe", False, "x86_64"), ("pefix32-cv.exe", True, "i686"),
            ("pefix32.exe", False, "i686"), ("pefix-pdb.exe", True, "x86_64")]


@needs("mingw", "mingw32")
def test_pe_identities(spawn):
    files = [FIXTURES / n for n, _, _ in PE_FILES]
    proc = start_mapper(spawn, *files, mmap=True)
    native = mappings(proc.pid, "--build-id", "native")
    auto = mappings(proc.pid)
    for (name, has_cv, arch), path in zip(PE_FILES, files):
        sig, pdb, size = objdump_pe(path, f"{arch}-w64-mingw32-objdump")
        stamp, raw_sig = pe_header(path)
        assert sig == raw_sig
        assert (sig is not None) == has_cv, name
        image = f"{stamp:08X}{size:x}"
        m = by_file(native, path)
        assert m["pe_image"] == image
        if has_cv:
            assert m["build_id_kind"] == "pdb"
            assert m["build_id"] == sig
            assert m["pdb_signature"] == sig
            assert m.get("pdb_file") == pdb
            assert (pdb is not None) == (name == "pefix-pdb.exe")
        else:
            assert m["build_id_kind"] == "pe-image"
            assert m["build_id"] == image
            assert "pdb_signature" not in m
        a = by_file(auto, path)
        assert a["build_id_kind"] == "path-mtime"
        assert is_path_mtime(a["build_id"], path)


# ---- path+mtime, byte for byte as Go prints it ---------------------------

ZONES = [None, "", "UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
         ":Europe/Berlin", "/usr/share/zoneinfo/Asia/Tokyo", "XYZ3",
         "EST5EDT,M3.2.0,M11.1.0", "Bogus/Zone", "/nonexistent/zone",
         # leap-second zones (Go ignores leap seconds), numeric
         # abbreviations, half-hour offsets, names that are not zones
         "right/UTC", "right/America/New_York", "Etc/GMT+5", "America/St_Johns",
         "Local", ":"]
STAMPS = ["2021-03-04 05:06:07.123456789", "2020-01-01 00:00:00",
          "2019-07-15 12:30:45.5", "1999-12-31 23:59:59.000000100",
          "2024-04-07 02:30:00.25"]


def env_with_tz(tz):
    env = dict(os.environ)
    env.pop("TZ", None)
    if tz is not None:
        env["TZ"] = tz
    return env


@needs("go")
def test_mtime_equals_go(spawn, tmp_path):
    files = []
    for i, stamp in enumerate(STAMPS):
        f = tmp_path / f"module{i}.bin"
        f.write_bytes(b"not an executable format\n" * 4)
        files.append(f)
    proc = start_mapper(spawn, *files, mmap=True)
    # Set the times after mapping: modmap reads them at snapshot time.
    for f, stamp in zip(files, STAMPS):
        subprocess.run(["touch", "-d", f"{stamp} UTC", str(f)], check=True)
    for tz in ZONES:
        env = env_with_tz(tz)
        go = subprocess.run([FIXTURES / "gofix", *files], capture_output=True,
                            text=True, check=True, env=env).stdout.splitlines()
        assert len(go) == len(files)
        for mode in ["auto", "native", "mtime"]:
            maps = mappings(proc.pid, "--build-id", mode, env=env)
            for f, want in zip(files, go):
                m = by_file(maps, f)
                assert m["build_id_kind"] == "path-mtime"
                assert m["build_id"] == f"{f}{want}", f"TZ={tz!r}"


# Instants no calendar library prints: past year 9999, past glibc's int
# tm_year (localtime_r fails there; modmap once reported "out of memory"),
# the ends of int64 where Go's own arithmetic wraps, before year 1, and one
# long past every zone's last transition so the TZif footer rule decides.
FAR_STAMPS = ["@9223372036854775807", "@-9223372036854775808", "@100000000000000000",
              "@-100000000000000000", "@253402300800", "@-62135596801",
              "2100-07-01 12:00:00.5 UTC", "2100-01-01 12:00:00.000000001 UTC",
              "@9223372036854775000"]
FAR_ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
             "America/Sao_Paulo", "Asia/Kolkata"]


@needs("go")
def test_far_mtime_equals_go(spawn):
    """Every int64 mtime gives Go's string (a tmpfs file: ext4 clamps times)."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.skip("no /dev/shm to hold a file with a far-future mtime")
    d = Path(tempfile.mkdtemp(dir=shm))
    try:
        files = []
        for i, stamp in enumerate(FAR_STAMPS):
            f = d / f"far{i}.bin"
            f.write_bytes(b"not an executable format\n" * 4)
            files.append(f)
        proc = start_mapper(spawn, *files, mmap=True)
        for f, stamp in zip(files, FAR_STAMPS):
            subprocess.run(["touch", "-d", stamp, str(f)], check=True)
        if os.stat(files[0]).st_mtime_ns // 10**9 != 2**63 - 1:
            pytest.skip("/dev/shm clamps file times (not tmpfs?)")
        for tz in FAR_ZONES:
            env = env_with_tz(tz)
            go = subprocess.run([FIXTURES / "gofix", *files], capture_output=True,
                                text=True, check=True, env=env).stdout.splitlines()
            assert len(go) == len(files)
            maps = mappings(proc.pid, "--build-id", "mtime", env=env)
            for f, want in zip(files, go):
                m = by_file(maps, f)
                assert m["build_id_kind"] == "path-mtime", f"TZ={tz!r} {m}"
                assert m["build_id"] == f"{f}{want}", f"TZ={tz!r}"
    finally:
        shutil.rmtree(d)


@needs("go")
def test_mtime_zones_differ():
    """The zones above really differ, so the comparison means something."""
    seen = set()
    for tz in ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "XYZ3"]:
        out = subprocess.run([FIXTURES / "gofix", "/"], capture_output=True, text=True,
                             check=True, env=env_with_tz(tz)).stdout
        seen.add(out.split(" ", 2)[2])
    # XYZ3 is UTC to Go (glibc would make it -0300 XYZ).
    assert len(seen) == 4


# ---- hostile targets ------------------------------------------------------

def copy(src, dst):
    shutil.copyfile(src, dst)
    return dst


def gnu_note_offset(data):
    """File offset of the GNU build-id note header in an ELF64 LE file."""
    i = data.find(b"GNU\0", 0x200)
    while i >= 0:
        namesz, descsz, ntype = struct.unpack_from("<III", data, i - 12)
        if namesz == 4 and ntype == 3:
            return i - 12
        i = data.find(b"GNU\0", i + 1)
    raise AssertionError("no build-id note")


def test_malformed_files(spawn, tmp_path):
    lib = (FIXTURES / "libfix.so").read_bytes()
    pe = (FIXTURES / "pefix-cv.exe").read_bytes()
    cases = {}
    cases["truncated.so"] = lib[:40]
    note = gnu_note_offset(lib)
    past = bytearray(lib)
    struct.pack_into("<I", past, note + 4, 0x7FFFFFF0)
    cases["note-past-end.so"] = bytes(past)
    huge = bytearray(lib)
    struct.pack_into("<Q", huge, 32, len(lib) - 8)  # e_phoff: tables past the end
    struct.pack_into("<H", huge, 56, 0xFFFE)      # e_phnum
    struct.pack_into("<Q", huge, 40, 0xFFFFFFFFFFFF0000)  # e_shoff
    cases["huge-counts.so"] = bytes(huge)
    lfanew = struct.unpack_from("<I", pe, 0x3C)[0]
    cases["truncated.exe"] = pe[:lfanew + 40]
    dbg = bytearray(pe)
    opt = lfanew + 24
    struct.pack_into("<I", dbg, opt + 112 + 6 * 8, 0x7FFF0000)  # debug dir RVA
    cases["debug-dir-nowhere.exe"] = bytes(dbg)
    files = []
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        files.append(f)
    proc = start_mapper(spawn, *files, mmap=True)
    for mode in ["auto", "native"]:
        maps = mappings(proc.pid, "--build-id", mode)
        for f in files:
            m = by_file(maps, f)
            assert m["build_id"] == "", f.name
            assert m["build_id_kind"] == "none"
            assert m["build_id_error"], f.name
    maps = mappings(proc.pid, "--build-id", "mtime")
    for f in files:
        assert by_file(maps, f)["build_id_kind"] == "path-mtime"


def run_bounded(argv, seconds=20):
    """Runs argv and fails the test if it blocks."""
    t0 = time.monotonic()
    p = subprocess.run([str(a) for a in argv], capture_output=True, timeout=seconds)
    assert time.monotonic() - t0 < seconds
    return p


@needs("root")   # setpriv --bounding-set needs CAP_SETPCAP
@needs("map_files")   # until unprivileged IDs land (issue 11)
def test_fifo_at_deleted_library(spawn, tmp_path):
    lib = copy(FIXTURES / "libfix-md5.so", tmp_path / "lib.so")
    want = readelf_build_id(lib)
    proc = start_mapper(spawn, lib)
    lib.unlink()
    os.mkfifo(lib)
    os.mkfifo(tmp_path / "lib.so (deleted)")
    for prefix in [[], NO_MAP_FILES]:
        p = run_bounded([*prefix, MODMAP, "--pid", proc.pid, "--source", "maps",
                         "--format", "json"])
        assert p.returncode == 0, p.stderr
        m = by_file(json.loads(p.stdout)["mappings"], lib)
        assert m["deleted"] is True
        # root reads the deleted file through map_files; without it, its
        # note comes from the process's memory, as eu-unstrip reads it.
        assert m["build_id"] == want
        assert m["build_id_kind"] == "gnu"
    # No file and no contents read: the path alone, and why.
    p = run_bounded([*NO_MAP_FILES, MODMAP, "--pid", proc.pid, "--source", "maps",
                     "--format", "json", "--build-id", "mtime"])
    m = by_file(json.loads(p.stdout)["mappings"], lib)
    assert m["build_id_kind"] == "path" and m["build_id"] == str(lib)
    assert "map_files" in m["build_id_error"]


@needs("root")   # setpriv --bounding-set needs CAP_SETPCAP
@needs("map_files")   # until unprivileged IDs land (issue 11)
def test_library_upgraded_under_a_process(spawn, tmp_path):
    """A new file renamed over a mapped library, as a package upgrade does:
    the mapping is "(deleted)" and the path holds another build."""
    lib = copy(FIXTURES / "libfix.so", tmp_path / "lib.so")
    want = readelf_build_id(lib)
    proc = start_mapper(spawn, lib)
    new = copy(FIXTURES / "libfix-md5.so", tmp_path / "lib.so.new")
    new.rename(lib)
    for prefix in [[], NO_MAP_FILES]:
        for mode in ["auto", "native"]:
            p = run_bounded([*prefix, MODMAP, "--pid", proc.pid, "--source", "maps",
                             "--format", "json", "--build-id", mode])
            m = by_file(json.loads(p.stdout)["mappings"], lib)
            assert m["deleted"] is True
            # the old build, via map_files or else from memory
            assert m["build_id"] == want
    # The kernel's own build ID (PROCMAP_QUERY, where the kernel has it)
    # needs no file at all; else root reads map_files.
    assert by_file(mappings(proc.pid, source="auto"), lib)["build_id"] == want


@pytest.mark.parametrize("replacement", ["library", "fifo", "device"])
@needs("mount_ns", "root")   # unshare -m, nsenter, mount --bind; setpriv
@needs("map_files")   # until unprivileged IDs land (issue 11)
def test_file_replaced_behind_mapping(spawn, tmp_path, replacement):
    """Another file bound over the mapped one in the target's mount
    namespace: same path, no "(deleted)", different inode."""
    lib = copy(FIXTURES / "libfix.so", tmp_path / "lib.so")
    want = readelf_build_id(lib)
    other = copy(FIXTURES / "libfix-uuid.so", tmp_path / "other.so")
    if replacement == "fifo":
        other = tmp_path / "fifo"
        os.mkfifo(other)
    elif replacement == "device":
        other = Path("/dev/zero")   # reads never end
    proc = start_mapper(spawn, lib, mmap=True,
                        prefix=["unshare", "-m", "--propagation", "private"])
    subprocess.run(["nsenter", "-t", str(proc.pid), "-m", "mount", "--bind",
                    str(other), str(lib)], check=True)
    for prefix in [[], NO_MAP_FILES]:
        for mode in ["auto", "native", "mtime"]:
            p = run_bounded([*prefix, MODMAP, "--pid", proc.pid, "--source", "maps",
                             "--format", "json", "--build-id", mode])
            assert p.returncode == 0, p.stderr
            m = by_file(json.loads(p.stdout)["mappings"], lib)
            assert m["deleted"] is False
            if mode != "mtime":
                # via map_files, or else the note in the process's memory
                assert m["build_id"] == want
            elif prefix:
                assert m["build_id"] == ""
                assert m["build_id_kind"] == "none"
                assert m["build_id_error"] == ("file at the path is not the mapped file"
                                               if replacement == "library"
                                               else "not a regular file")


@needs("mount_ns", "root")   # unshare -m, mount --bind; setpriv
def test_process_in_another_mount_namespace(spawn, tmp_path):
    """A container's view: in the target's mount namespace the mapped path
    holds another library than in ours. modmap must read the target's, which
    it finds inside /proc/PID/root (openat2 RESOLVE_IN_ROOT)."""
    outside = tmp_path / "x"
    outside.mkdir()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    copy(FIXTURES / "libfix-md5.so", outside / "lib.so")
    copy(FIXTURES / "libfix-uuid.so", theirs / "lib.so")
    want = readelf_build_id(theirs / "lib.so")
    assert want != readelf_build_id(outside / "lib.so")
    script = (f"mount --bind {theirs} {outside} && "
              f"exec {FIXTURES / 'idmapper'} --mmap {outside / 'lib.so'}")
    proc = spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    for source in SOURCES:
        for mode in ["auto", "native"]:
            m = by_file(mappings(proc.pid, "--build-id", mode, source=source),
                        outside / "lib.so")
            assert m["build_id"] == want
    # Without map_files, the path inside the target's root is all there is.
    p = run_bounded([*NO_MAP_FILES, MODMAP, "--pid", proc.pid, "--source", "maps",
                     "--format", "json"])
    m = by_file(json.loads(p.stdout)["mappings"], outside / "lib.so")
    assert m["build_id"] == want


@needs("chroot", "root")   # chroot; setpriv
def test_chrooted_process(spawn, tmp_path):
    """A chroot in our mount namespace: maps paths are relative to modmap's
    root, not the target's; the same path inside the chroot holds another
    library, which must not be taken for the mapped one."""
    root = tmp_path / "root"
    mapped = root / "lib" / "lib.so"
    mapped.parent.mkdir(parents=True)
    copy(FIXTURES / "libfix-uuid.so", mapped)
    copy(FIXTURES / "idmapper-static", root / "mapper")
    (root / "mapper").chmod(0o755)
    # Inside the chroot, the host-relative path of the mapped file leads to
    # a different library.
    decoy = root / str(mapped).lstrip("/")
    decoy.parent.mkdir(parents=True)
    copy(FIXTURES / "libfix-md5.so", decoy)
    want = readelf_build_id(mapped)
    proc = spawn(["chroot", root, "/mapper", "--mmap", "/lib/lib.so"])
    for source in SOURCES:
        maps = mappings(proc.pid, source=source)
        assert by_file(maps, mapped)["build_id"] == want
        assert by_file(maps, root / "mapper")["build_id"] == \
            readelf_build_id(FIXTURES / "idmapper-static")
    p = run_bounded([*NO_MAP_FILES, MODMAP, "--pid", proc.pid, "--source", "maps",
                     "--format", "json"])
    assert by_file(json.loads(p.stdout)["mappings"], mapped)["build_id"] == want


# ---- the vDSO ---------------------------------------------------------------

def vdso_build_id(pid, tmp_path):
    """The target's own vDSO image, read from its memory, through readelf."""
    with open(f"/proc/{pid}/maps") as f:
        line = next(l for l in f if l.rstrip().endswith("[vdso]"))
    start, limit = (int(x, 16) for x in line.split()[0].split("-"))
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(start)
        image = f.read(limit - start)
    out = tmp_path / f"vdso-{pid}.so"
    out.write_bytes(image)
    return readelf_build_id(out)


@pytest.mark.parametrize("exe", ["idmapper", pytest.param("idmapper32", marks=needs("m32"))])
def test_vdso(spawn, tmp_path, exe):
    """Each ABI has its own vDSO: a 32-bit process's is not modmap's."""
    proc = spawn([FIXTURES / exe])
    want = vdso_build_id(proc.pid, tmp_path)
    assert want
    for source in SOURCES:
        m = by_file(mappings(proc.pid, "--build-id", "native", source=source), "[vdso]")
        assert m["build_id"] == want and m["build_id_kind"] == "gnu"
    own = by_file(modmap_json("--self")["mappings"], "[vdso]")["build_id"]
    assert (want == own) == (exe == "idmapper")
