"""modmap lookup: which module holds an address, and the address to hand a
symbolizer.

The oracles are the kernel (/proc/PID/maps parsed here), binutils
(addr2line names the function at elf_vaddr, nm gives the marker's link-time
address, readelf -lW the PT_LOAD segments) and google/pprof's own writer
(pprofedit) and cbor2 for hand-made snapshots. build/fixtures/lookupfix (a
non-PIE and a PIE build) loads lookuplib.so, linked at 0x100000, after
taking that range itself: the library's runtime address, file offset and
ELF vaddr all differ.
"""
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time

import cbor2
import pytest

from conftest import (FIXTURES, MODMAP, dump, pprofedit, proc_maps, run_modmap, need,
                      need_memory_of_a_sibling)

NO_MAP_FILES = ["setpriv", "--bounding-set", "-sys_admin,-checkpoint_restore"]
EXES = ["lookupfix", "lookupfix-pie"]


# ---- oracles ----------------------------------------------------------------

def nm_value(path, symbol):
    out = subprocess.run(["nm", str(path)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == symbol:
            return int(parts[0], 16)
    raise AssertionError(f"{symbol} not in nm {path}")


def addr2line_function(path, vaddr):
    out = subprocess.run(["addr2line", "-f", "-e", str(path), hex(vaddr)],
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0]


def readelf_loads(path):
    """PT_LOAD (offset, vaddr, filesz) from readelf -lW."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True,
                         text=True, check=True).stdout
    loads = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
    assert loads, out
    return loads


def kernel_mapping(pid, address):
    """The /proc/PID/maps line holding address, or None."""
    for m in proc_maps(pid):
        if m["start"] <= address < m["limit"]:
            return m
    return None


def lookup(*args, check=True, **kw):
    p = run_modmap("lookup", *args, check=check, **kw)
    return p


def lookup_json(*args):
    return json.loads(lookup(*args, "-f", "json").stdout)


def check_answer(a, pid, address, path, symbol):
    """One answer against the kernel and binutils."""
    assert int(a["address"], 16) == address
    assert a["mapped"] is True
    k = kernel_mapping(pid, address)
    assert (int(a["start"], 16), int(a["limit"], 16), int(a["offset"], 16)) == \
        (k["start"], k["limit"], k["offset"])
    file_offset = int(a["file_offset"], 16)
    assert file_offset == address - k["start"] + k["offset"]
    vaddr = int(a["elf_vaddr"], 16)
    # The marker's link-time address, as nm and addr2line know it.
    assert vaddr == nm_value(path, symbol)
    assert addr2line_function(path, vaddr + 1) == symbol
    # readelf's PT_LOAD that holds file_offset maps it to vaddr.
    held = [(o, v) for o, v, n in readelf_loads(path) if o <= file_offset < o + n]
    assert held and vaddr - held[0][1] == file_offset - held[0][0]
    return file_offset, vaddr


# ---- the fixture ------------------------------------------------------------

class Fix:
    def __init__(self, proc, exe, lib):
        self.proc, self.pid, self.exe, self.lib = proc, proc.pid, exe, lib
        m = re.fullmatch(r"exe=(0x[0-9a-f]+) lib=(0x[0-9a-f]+)", proc.ready)
        assert m, proc.ready
        self.exe_marker, self.lib_marker = int(m[1], 16), int(m[2], 16)


@pytest.fixture(params=EXES)
def fix(request, spawn, tmp_path):
    """lookupfix with its own copy of the library (tests delete or replace it)."""
    lib = tmp_path / "lookuplib.so"
    shutil.copy(FIXTURES / "lookuplib.so", lib)
    exe = FIXTURES / request.param
    return Fix(spawn([exe, lib]), exe, lib)


# ---- live processes ---------------------------------------------------------

def test_markers_symbolize(fix):
    """elf_vaddr is what addr2line -e FILE takes, for a non-PIE or PIE
    executable and a library loaded away from its link address."""
    a = lookup_json("--pid", fix.pid, hex(fix.exe_marker), hex(fix.lib_marker))
    assert [x["file"] for x in a] == [str(fix.exe), str(fix.lib)]
    check_answer(a[0], fix.pid, fix.exe_marker, fix.exe, "lookupfix_exe_marker")
    off, vaddr = check_answer(a[1], fix.pid, fix.lib_marker, fix.lib, "lookuplib_marker")
    # The three addresses of the library's marker all differ.
    assert len({fix.lib_marker, off, vaddr}) == 3
    assert a[1]["build_id_kind"] == "gnu" and "rva" not in a[1]


def readelf_build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def test_formats_agree(fix):
    """text, json and jsonl each give, in the order asked, what the kernel
    (the mapping), nm (the marker's link-time address) and readelf (the
    build ID) say; and, as an extra check, the same answers."""
    addrs = [fix.lib_marker, 1, fix.exe_marker]
    args = ["--pid", fix.pid, *map(hex, addrs)]
    j = lookup_json(*args)
    jl = [json.loads(l) for l in lookup(*args, "-f", "jsonl").stdout.splitlines()]
    text = lookup(*args).stdout.decode().splitlines()
    assert len(text) == 3
    assert text[1] == "0x1 unmapped"
    fields = []
    for line in text:
        m = re.fullmatch(r"(0x[0-9a-f]+) file_offset=(0x[0-9a-f]+) elf_vaddr=(0x[0-9a-f]+) "
                         r"build_id=([0-9a-f]+) (.*)", line)
        fields.append(m.groups() if m else None)
    for n, (addr, path, symbol) in enumerate([(fix.lib_marker, fix.lib, "lookuplib_marker"),
                                              (1, None, None),
                                              (fix.exe_marker, fix.exe, "lookupfix_exe_marker")]):
        if path is None:
            assert j[n] == jl[n] == {"address": "0x1", "mapped": False}, (j[n], jl[n])
            continue
        k = kernel_mapping(fix.pid, addr)
        want = (hex(addr), hex(addr - k["start"] + k["offset"]),
                hex(nm_value(path, symbol)), readelf_build_id(path), str(path))
        for a in (j[n], jl[n]):
            assert (a["address"], a["file_offset"], a["elf_vaddr"], a["build_id"],
                    a["file"]) == want, a
        assert fields[n] == want, text[n]
    assert j == jl


def writable_load(path):
    """readelf -lW: the writable PT_LOAD (offset, vaddr, filesz, memsz)."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and "W" in "".join(f[6:-1]):
            return tuple(int(x, 16) for x in (f[1], f[2], f[4], f[5]))
    raise AssertionError(out)


def test_no_elf_vaddr_past_a_segments_file_bytes(fix):
    """The data segment's .bss (memory size above file size, readelf -l):
    its last file byte has an elf_vaddr, the zeroed bytes after it in the
    same mapped page have a file offset but none, as docs/lookup.md says."""
    off, vaddr, filesz, memsz = writable_load(fix.exe)
    assert memsz > filesz, "the fixture has no .bss"
    end = off + filesz  # the first file offset past the segment's bytes
    maps = [m for m in proc_maps(fix.pid)
            if m["name"] == str(fix.exe) and m["offset"] <= end - 1 < m["offset"] + m["limit"] - m["start"]]
    assert maps, proc_maps(fix.pid)
    k = maps[0]
    last = k["start"] + end - 1 - k["offset"]
    past = last + 1
    assert past < k["limit"], "the segment ends at its mapping's end"
    a, b = lookup_json("--pid", fix.pid, hex(last), hex(past))
    assert int(a["file_offset"], 16) == end - 1
    assert int(a["elf_vaddr"], 16) == vaddr + filesz - 1
    assert int(b["file_offset"], 16) == end
    assert "elf_vaddr" not in b, b


@pytest.mark.parametrize("how", ["map_files", "memory"])
def test_deleted_library(fix, tmp_path, how):
    """With the library deleted after loading: root reads it through
    map_files; without CAP_SYS_ADMIN the headers come from the process's
    memory, where the loader mapped them."""
    root = os.geteuid() == 0
    if how == "map_files":
        need("map_files")
    else:
        need_memory_of_a_sibling()
    keep = tmp_path / "kept.so"
    shutil.copy(fix.lib, keep)
    fix.lib.unlink()
    # Root drops the capabilities map_files needs; others never had them.
    prefix = NO_MAP_FILES if how == "memory" and root else []
    p = subprocess.run([*prefix, MODMAP, "lookup", "--pid", str(fix.pid), "-f", "json",
                        hex(fix.lib_marker)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    a = json.loads(p.stdout)[0]
    assert a["deleted"] is True and a["file"] == str(fix.lib)
    assert "elf_vaddr" in a, a
    assert int(a["elf_vaddr"], 16) == nm_value(keep, "lookuplib_marker")
    assert addr2line_function(keep, int(a["elf_vaddr"], 16)) == "lookuplib_marker"


@pytest.mark.parametrize("exe", EXES)
def test_library_replaced_in_its_mount_namespace(spawn, tmp_path, exe):
    """Another build bound over the library's path in the target's mount
    namespace: not the mapped file, so the headers come from map_files
    (root) or from the process's memory, never from the impostor."""
    need("root", "mount_ns")   # unshare -m and mount --bind
    lib = tmp_path / "lookuplib.so"
    shutil.copy(FIXTURES / "lookuplib.so", lib)
    other = tmp_path / "other.so"
    shutil.copy(FIXTURES / "libfix.so", other)
    f = Fix(spawn(["unshare", "-m", "--propagation", "private", FIXTURES / exe, lib]),
            FIXTURES / exe, lib)
    subprocess.run(["nsenter", "-t", str(f.pid), "-m", "mount", "--bind", str(other),
                    str(lib)], check=True)
    want = nm_value(FIXTURES / "lookuplib.so", "lookuplib_marker")
    for prefix in [[], NO_MAP_FILES]:
        p = subprocess.run([*prefix, MODMAP, "lookup", "--pid", str(f.pid), "-f", "json",
                            hex(f.lib_marker)], capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        a = json.loads(p.stdout)[0]
        assert a["file"] == str(lib) and a["deleted"] is False
        assert int(a["elf_vaddr"], 16) == want, prefix


def test_boundaries_against_the_kernel(fix):
    """Every mapping's start, limit - 1 and limit, and an address between
    mappings, streamed on standard input: each answer names the mapping the
    kernel says holds the address, or none."""
    maps = proc_maps(fix.pid)
    addrs = []
    for m in maps:
        addrs += [m["start"], m["limit"] - 1, m["limit"]]
    gaps = [a["limit"] for a, b in zip(maps, maps[1:]) if a["limit"] < b["start"]]
    assert gaps, "no gap between mappings"
    addrs += gaps + [0, 2**64 - 1]
    p = lookup("--pid", fix.pid, "-f", "jsonl",
               input="".join(f"{a:x}\n" for a in addrs).encode())
    answers = [json.loads(l) for l in p.stdout.splitlines()]
    assert [int(a["address"], 16) for a in answers] == addrs
    checked_gap = False
    for addr, a in zip(addrs, answers):
        k = kernel_mapping(fix.pid, addr)
        if k is None:
            assert a == {"address": hex(addr), "mapped": False}
            checked_gap |= addr in gaps
            continue
        assert (int(a["start"], 16), int(a["limit"], 16)) == (k["start"], k["limit"]), hex(addr)
        assert int(a["file_offset"], 16) == addr - k["start"] + k["offset"]
    assert checked_gap


def test_answers_stream(fix):
    """Each answer is written as soon as its line is read, before input ends."""
    p = subprocess.Popen([str(MODMAP), "lookup", "--pid", str(fix.pid), "-f", "jsonl"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for addr in [fix.lib_marker, fix.exe_marker]:
            p.stdin.write(f"{addr:#x}\n".encode())
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 30)
            assert ready, "no answer within 30 s while input stays open"
            assert json.loads(p.stdout.readline())["address"] == hex(addr)
    finally:
        p.stdin.close()
        assert p.wait(timeout=30) == 0


# ---- saved snapshots --------------------------------------------------------

@pytest.mark.parametrize("fmt", ["pprof", "cbor"])
def test_saved_snapshot(fix, tmp_path, fmt):
    """From a saved snapshot: elf_vaddr where the file at the path still has
    the mapping's build ID, and not once another build sits there."""
    snap = tmp_path / f"snap.{fmt}"
    run_modmap("--pid", fix.pid, "--format", fmt, "-o", snap)
    live = lookup_json("--pid", fix.pid, hex(fix.exe_marker), hex(fix.lib_marker))
    fix.proc.stop()
    a = lookup_json("--snapshot", snap, hex(fix.exe_marker), hex(fix.lib_marker))
    for got, want in zip(a, live):
        for k in ["address", "start", "limit", "offset", "file", "build_id", "file_offset",
                  "elf_vaddr"]:
            assert got[k] == want[k], k
    assert int(a[1]["elf_vaddr"], 16) == nm_value(fix.lib, "lookuplib_marker")
    # What the snapshot does not hold is not made up; main is what it says.
    assert [x["main"] for x in a] == [True, False]
    assert not {"perms", "dev", "inode", "deleted"} & (set(a[0]) | set(a[1]))
    # Another build at the library's path: no elf_vaddr from it.
    shutil.copy(FIXTURES / "libfix.so", fix.lib)
    b = lookup_json("--snapshot", snap, hex(fix.lib_marker))[0]
    assert b["file_offset"] == a[1]["file_offset"] and "elf_vaddr" not in b
    fix.lib.unlink()
    b = lookup_json("--snapshot", snap, hex(fix.lib_marker))[0]
    assert b["mapped"] is True and "elf_vaddr" not in b


# A table whose mappings nest (profilers write such; any pprof profile is
# accepted as a snapshot), with the innermost holder of each address
# computed here from the definition.
NESTED = [
    {"Start": 0x10000, "Limit": 0x20000, "Offset": 0, "File": "/outer", "BuildID": "o"},
    {"Start": 0x12000, "Limit": 0x18000, "Offset": 0x1000, "File": "/middle", "BuildID": "m"},
    {"Start": 0x14000, "Limit": 0x15000, "Offset": 0x2000, "File": "/inner", "BuildID": "i"},
    {"Start": 0x12000, "Limit": 0x13000, "Offset": 0, "File": "/same-start", "BuildID": "s"},
    {"Start": 0x30000, "Limit": 0x30000, "Offset": 0, "File": "/empty", "BuildID": "e"},
    {"Start": 0x30000, "Limit": 0x31000, "Offset": 0, "File": "/after-gap", "BuildID": "g"},
]
PROBES = [0xffff, 0x10000, 0x11fff, 0x12000, 0x12fff, 0x13000, 0x13fff, 0x14000, 0x14fff,
          0x15000, 0x17fff, 0x18000, 0x1ffff, 0x20000, 0x2ffff, 0x30000, 0x30fff, 0x31000]


def innermost(address):
    holding = [m for m in NESTED if m["Start"] <= address < m["Limit"]]
    if not holding:
        return None
    return max(holding, key=lambda m: (m["Start"], -m["Limit"]))


@pytest.mark.parametrize("fmt", ["pprof", "cbor"])
def test_nested_mappings_innermost(tmp_path, fmt):
    snap = tmp_path / "nested"
    if fmt == "pprof":
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"Mappings": NESTED, "Addresses": []}))
        pprofedit("make", spec, snap)
    else:
        snap.write_bytes(cbor2.dumps({"pid": 1, "os": "linux", "mappings": [
            {"start": m["Start"], "limit": m["Limit"], "offset": m["Offset"],
             "file": m["File"], "build_id": m["BuildID"]} for m in NESTED]}))
    a = lookup_json("--snapshot", snap, *map(hex, PROBES))
    for addr, got in zip(PROBES, a):
        want = innermost(addr)
        if want is None:
            assert got == {"address": hex(addr), "mapped": False}
        else:
            assert got["file"] == want["File"], hex(addr)
            assert int(got["file_offset"], 16) == addr - want["Start"] + want["Offset"]
            assert "elf_vaddr" not in got


def test_attach_nested_snapshot_innermost(tmp_path):
    """attach points each location at the innermost snapshot mapping (it
    once lost the addresses of an inner mapping that started later)."""
    spec, snap, prof, out = (tmp_path / n for n in ("s.json", "snap.pb.gz", "p.pb.gz", "o.pb.gz"))
    spec.write_text(json.dumps({"Mappings": NESTED, "Addresses": []}))
    pprofedit("make", spec, snap)
    spec.write_text(json.dumps({"Mappings": [], "Addresses": PROBES}))
    pprofedit("make", spec, prof)
    run_modmap("attach", "--snapshot", snap, prof, "-o", out)
    for loc in dump(out)["Locations"]:
        want = innermost(loc["Address"])
        got = loc["Mapping"]
        assert (got and got["File"]) == (want and want["File"]), hex(loc["Address"])


# ---- bad input --------------------------------------------------------------

def test_bad_lines_are_named_and_the_rest_answered(fix):
    long_line = "7" * 10000
    # Longer than modmap's read window, and an address in its first bytes.
    huge_line = "0x10" + " " * 200_000 + "zz"
    lines = ["zz", hex(fix.lib_marker), "", "  0X10\t", "0x", "1" * 17,
             "0x12 34", long_line, "\x1b[31m", huge_line, hex(fix.exe_marker) + "\r"]
    p = lookup("--pid", fix.pid, "-f", "jsonl", check=False,
               input="\n".join(lines).encode())  # no final newline
    assert p.returncode == 1
    got = [int(json.loads(l)["address"], 16) for l in p.stdout.splitlines()]
    assert got == [fix.lib_marker, 0x10, fix.exe_marker]
    err = p.stderr.decode().splitlines()
    assert err[0] == "modmap: lookup: line 1: not an address: 'zz'"
    assert [e.split(":")[2].strip() for e in err] == \
        ["line 1", "line 5", "line 6", "line 7", "line 8", "line 9", "line 10"]
    assert err[4].endswith("'" + "7" * 64 + "...'")    # named, not echoed whole
    assert "\\x1b" in err[5] and "\x1b" not in err[5]
    assert err[6].endswith("'0x10" + " " * 60 + "...'")


def test_bad_argument(fix):
    p = lookup("--pid", fix.pid, "nope", hex(fix.lib_marker), check=False)
    assert p.returncode == 1
    assert p.stderr == b"modmap: lookup: argument: not an address: 'nope'\n"
    assert len(p.stdout.splitlines()) == 1


def peak_rss_kb(args, stdin_path):
    with tempfile.NamedTemporaryFile() as t, open(stdin_path, "rb") as f:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name, *map(str, args)],
                           stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=600)
        assert p.returncode == 0, p.stderr[-2000:]
        return p, int(t.read().split()[-1])


def test_a_million_addresses_in_flat_memory(fix, tmp_path):
    """A million addresses from standard input: every one answered, in
    order, in the memory ten thousand take."""
    start = fix.lib_marker & ~0xfff
    small, big = tmp_path / "small", tmp_path / "big"
    with open(big, "w") as f:
        for i in range(1_000_000):
            f.write(f"{start + (i % 4096):x}\n")
    with open(small, "w") as f:
        for i in range(10_000):
            f.write(f"{start + (i % 4096):x}\n")
    args = [MODMAP, "lookup", "--pid", fix.pid]
    _, rss_small = peak_rss_kb(args, small)
    p, rss_big = peak_rss_kb(args, big)
    lines = p.stdout.splitlines()
    assert len(lines) == 1_000_000
    assert lines[4097].startswith(f"{start + 1:#x} file_offset=".encode())
    assert rss_big - rss_small < 2048, (rss_small, rss_big)


@pytest.mark.parametrize("args, why", [
    ([], "give one of --pid PID or --snapshot FILE"),
    (["--pid", "1", "--snapshot", "x"], "give one of --pid PID or --snapshot FILE"),
    (["--pid", "1", "-f", "cbor"], "unknown format 'cbor'"),
    (["--pid", "0"], "invalid PID '0'"),
    (["--pid", "1", "--bogus"], "unknown argument '--bogus'"),
    (["--snapshot", "-"], "the snapshot comes from standard input"),
])
def test_usage_errors(args, why):
    p = lookup(*args, check=False)
    assert p.returncode == 2
    assert why in p.stderr.decode()
    assert "Try 'modmap lookup --help'" in p.stderr.decode()


def test_unreadable_sources(tmp_path):
    p = lookup("--snapshot", tmp_path / "missing", "0x1", check=False)
    assert p.returncode == 1 and str(tmp_path / "missing") in p.stderr.decode()
    (tmp_path / "junk").write_bytes(b"\x0a\xff\xff\xff\xff\x0f")
    p = lookup("--snapshot", tmp_path / "junk", "0x1", check=False)
    assert p.returncode == 1 and str(tmp_path / "junk") in p.stderr.decode()
    p = lookup("--pid", "999999999", "0x1", check=False)
    assert p.returncode == 1 and p.stderr.startswith(b"modmap: pid 999999999: ")
    assert p.stdout == b""


def test_help():
    p = lookup("--help")
    assert p.stdout.startswith(b"usage: modmap lookup (--pid PID | --snapshot FILE)")
    assert b"lookup" in run_modmap("--help").stdout


# ---- the library --------------------------------------------------------------

API_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <modmap.h>

int main(int argc, char **argv)
{
	struct modmap_snapshot *s;
	struct modmap_error err;
	if (modmap_snapshot_read(strtoull(argv[1], NULL, 10), NULL, &s, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		struct modmap_lookup r;
		struct modmap_mapping m = { 0 };
		uint64_t addr = strtoull(argv[i], NULL, 16);
		if (modmap_lookup(s, addr, &r, &err) < 0)
			return 1;
		if (r.mapping != modmap_snapshot_find(s, addr))
			return 3;
		if (r.mapping >= 0)
			modmap_snapshot_mapping(s, (size_t)r.mapping, &m);
		printf("%lld %s %llx %d %llx\n", r.mapping, r.mapping >= 0 ? m.file : "-",
		       (unsigned long long)r.file_offset, r.has_elf_vaddr,
		       (unsigned long long)r.elf_vaddr);
	}
	modmap_snapshot_free(s);
	return 0;
}
"""


def test_library_lookup(fix, tmp_path):
    """modmap_lookup through the public header and the static library."""
    from conftest import ROOT, static_lib_deps
    src, exe = tmp_path / "api.c", tmp_path / "api"
    src.write_text(API_PROGRAM)
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-I", ROOT / "include", "-o", exe,
                    src, ROOT / "build/libmodmap.a", *static_lib_deps()], check=True)
    out = subprocess.run([exe, str(fix.pid), hex(fix.lib_marker), "0x10"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    idx, file, off, has, vaddr = out[0].split()
    assert file == str(fix.lib) and has == "1"
    assert int(vaddr, 16) == nm_value(fix.lib, "lookuplib_marker")
    k = kernel_mapping(fix.pid, fix.lib_marker)
    assert int(off, 16) == fix.lib_marker - k["start"] + k["offset"]
    assert out[1] == "-1 - 0 0 0"
