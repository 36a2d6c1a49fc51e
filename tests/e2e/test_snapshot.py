"""The Linux snapshot end to end: both /proc sources on a process full of
edge cases, compared with the kernel's own text, with Go's selection rule
and with eu-unstrip's build IDs."""
import json
import os
from pathlib import Path
import shutil
import subprocess

import pytest

from conftest import FIXTURES, as_int, modmap_json, needs, proc_maps, run_modmap

LIBFIX = FIXTURES / "libfix.so"


def readelf_build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


@pytest.fixture
def edge(spawn, tmp_path):
    """The mapper fixture with every edge case the kernel's text has."""
    d = tmp_path / "libs dir"
    d.mkdir()
    names = {
        "space": "with space.so",
        "newline": "nl\nname.so",
        "literal": "lit\\012name.so",      # a real backslash-0-1-2
        "suffix": "named (deleted)",        # not deleted, only named so
        "utf8": "caf\u00e9.so",
        "control": "ctl\x01\x1f\x7fname.so",  # control characters JSON must escape
        "gone": "gone.so",
    }
    paths = {}
    for key, name in names.items():
        p = d / name
        shutil.copy(LIBFIX, p)
        paths[key] = p
    badbytes = os.fsencode(str(d)) + b"/bad\xff\xfe.so"
    shutil.copy(LIBFIX, badbytes)
    args = [FIXTURES / "mapper"]
    args += [f"load:{paths[k]}"
             for k in ("space", "newline", "literal", "suffix", "utf8", "control")]
    args += [os.fsdecode(b"load:" + badbytes)]
    args += [f"load-unlink:{paths['gone']}", f"memfd:{LIBFIX}", "anon-exec",
             "anon-name:modmap-test"]
    proc = spawn(args)
    proc.paths = {k: str(v) for k, v in paths.items()}
    proc.paths["bad"] = os.fsdecode(badbytes)
    proc.anon_named = "anon-name=ok" in proc.ready
    return proc


def files(doc):
    return [m["file"] for m in doc["mappings"]]


@pytest.mark.parametrize("mappings", ["exec", "all"])
@needs("procmap_query")
@needs("map_files")   # until unprivileged IDs land (issue 11): the maps source names the
                      # deleted library and the memfd by path
def test_query_and_maps_sources_agree(edge, mappings):
    q = modmap_json("--pid", edge.pid, "--source", "query", "--mappings", mappings)
    m = modmap_json("--pid", edge.pid, "--source", "maps", "--mappings", mappings)
    for doc in (q, m):
        del doc["time"]
    assert q == m
    # Every edge case is in there, named exactly.
    got = set(files(q))
    for key in ("space", "newline", "literal", "suffix", "utf8", "control", "bad", "gone"):
        assert edge.paths[key] in got, key


def test_names_and_deleted_flags(edge):
    doc = modmap_json("--pid", edge.pid)
    by_file = {m["file"]: m for m in doc["mappings"]}
    assert by_file[edge.paths["gone"]]["deleted"] is True
    assert by_file[edge.paths["suffix"]]["deleted"] is False
    assert by_file[edge.paths["newline"]]["deleted"] is False
    assert by_file["/memfd:mapper-jit"]["deleted"] is True
    assert "[vdso]" in by_file
    main = [m for m in doc["mappings"] if m["main"]]
    assert main and all(m["file"] == str(FIXTURES / "mapper") for m in main)
    assert doc["exe"] == str(FIXTURES / "mapper")


@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")), "maps"])
def test_all_mappings_match_proc_maps(edge, source):
    """--mappings all lists every line of /proc/PID/maps, fields intact,
    the first and the last included, from either source."""
    doc = modmap_json("--pid", edge.pid, "--mappings", "all", "--source", source)
    kernel = proc_maps(edge.pid)
    assert len(doc["mappings"]) == len(kernel)
    for m, k in zip(doc["mappings"], kernel):
        assert (as_int(m["start"]), as_int(m["limit"]), as_int(m["offset"])) == \
            (k["start"], k["limit"], k["offset"])
        assert m["perms"] == k["perms"]
        if k["inode"]:
            assert m["dev"] == k["dev"] and m["inode"] == k["inode"]
        name = k["name"]
        if m["deleted"]:
            name = name.removesuffix(" (deleted)")
        if "\\012" in name and m["file"] != name:
            name = name.replace("\\012", "\n")
        assert m["file"] == name


@needs("anon_vma_name")
@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")),
                                    "maps"])
def test_named_anonymous_region(edge, source):
    """A region named with PR_SET_VMA_ANON_NAME is listed as the kernel
    names it."""
    assert edge.anon_named, edge.ready
    assert "[anon:modmap-test]" in [k["name"] for k in proc_maps(edge.pid)]
    doc = modmap_json("--pid", edge.pid, "--mappings", "all", "--source", source)
    assert "[anon:modmap-test]" in files(doc)


def go_selection(pid):
    """Go runtime/pprof's rule over /proc/PID/maps (proto_other.go)."""
    keep = []
    for k in proc_maps(pid):
        if k["perms"][2] != "x":
            continue
        name = k["name"].removesuffix(" (deleted)")
        if k["inode"] == 0 and name == "":
            continue
        keep.append((k["start"], k["limit"], k["offset"]))
    return keep


@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")),
                                    "maps"])
def test_exec_selection_is_gos(edge, source):
    doc = modmap_json("--pid", edge.pid, "--source", source)
    got = [(as_int(m["start"]), as_int(m["limit"]), as_int(m["offset"]))
           for m in doc["mappings"]]
    assert got == go_selection(edge.pid)
    # The nameless executable anonymous mapping is not a module.
    assert "" not in files(doc)


def eu_unstrip(pid):
    out = subprocess.run(["eu-unstrip", "-n", "-p", str(pid)], capture_output=True,
                         check=True).stdout.decode("utf-8", "surrogateescape")
    mods = []
    for line in out.splitlines():
        # START+SIZE BUILDID@ADDR FILE DEBUGFILE MODULENAME
        rng, bid, rest = line.split(" ", 2)
        start, size = (int(x, 16) for x in rng.split("+"))
        mods.append((start, start + size, bid.split("@")[0]))
    return mods


@pytest.mark.parametrize("source", [
    pytest.param("query", marks=needs("procmap_query")),
    pytest.param("maps", marks=needs("map_files")),   # until unprivileged IDs land (issue 11)
])
def test_build_ids_equal_eu_unstrip(edge, source):
    doc = modmap_json("--pid", edge.pid, "--source", source)
    mods = eu_unstrip(edge.pid)
    checked = 0
    for m in doc["mappings"]:
        start = as_int(m["start"])
        for lo, hi, bid in mods:
            if lo <= start < hi and bid != "-":
                assert m["build_id"] == bid, m["file"]
                assert m["build_id_kind"] == "gnu"
                checked += 1
    # The deleted library and the memfd are among those eu-unstrip reads.
    assert checked >= 6
    # Where eu-unstrip gives up (it does not undo the kernel's \012), the
    # file's own note still agrees.
    want = readelf_build_id(LIBFIX)
    for key in ("newline", "literal", "bad", "gone", "utf8"):
        m = next(m for m in doc["mappings"] if m["file"] == edge.paths[key])
        assert m["build_id"] == want, key


def test_file_without_build_id_gets_path_mtime(spawn, tmp_path):
    lib = tmp_path / "nobid.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-Wl,--build-id=none", "-o", str(lib),
                    str(FIXTURES.parent.parent / "tests/fixtures/libfix.c")], check=True)
    proc = spawn([FIXTURES / "mapper", f"load:{lib}"])
    m = next(m for m in modmap_json("--pid", proc.pid)["mappings"] if m["file"] == str(lib))
    assert m["build_id_kind"] == "path-mtime"
    assert m["build_id"].startswith(str(lib) + "20")
    assert m["build_id_error"] == "no build-id note"
    none = next(m for m in modmap_json("--pid", proc.pid, "--build-id", "none")["mappings"]
                if m["file"] == str(lib))
    assert none["build_id"] == "" and none["build_id_kind"] == "none"


def test_json_is_ascii_and_lossless(edge):
    raw = run_modmap("--pid", edge.pid, "--format", "json").stdout
    assert max(raw) < 0x80
    doc = json.loads(raw)
    names = files(doc)
    # \u escapes decode to the real name; surrogateescape gives the bytes back.
    assert edge.paths["utf8"] in names
    assert "caf\\u00e9.so" in raw.decode()
    bad = next(n for n in names if "bad" in n)
    assert bad.encode("utf-8", "surrogateescape") == os.fsencode(edge.paths["bad"])
    assert "\\udcff\\udcfe" in raw.decode()
    # Control characters are escaped (strict JSON refuses them raw).
    assert edge.paths["control"] in names
    assert "ctl\\u0001\\u001f\\u007fname.so" in raw.decode()


def test_text_one_line_per_record(edge):
    out = run_modmap("--pid", edge.pid).stdout.decode("utf-8", "surrogateescape")
    lines = out.splitlines()
    doc = modmap_json("--pid", edge.pid)
    assert lines[0].startswith(f"pid {edge.pid} (linux) {FIXTURES / 'mapper'}: ")
    # Which process, as the kernel says: comm, the NSpid line, cgroup.
    comm = Path(f"/proc/{edge.pid}/comm").read_text().rstrip("\n")
    status = Path(f"/proc/{edge.pid}/status").read_text()
    ns_pid = [l.split()[-1] for l in status.splitlines() if l.startswith("NSpid:")][0]
    entries = [l.split(":", 2) for l in
               Path(f"/proc/{edge.pid}/cgroup").read_text().splitlines()]
    cgroup = next((p for h, c, p in entries if h == "0" and c == ""),
                  next((p for h, c, p in entries if c == "name=systemd"), entries[0][2]))
    assert lines[1] == f"comm={comm} ns_pid={ns_pid} container_id=- cgroup={cgroup}"
    assert lines[2].split() == ["start", "limit", "offset", "build_id", "file"]
    assert len(lines) == 3 + len(doc["mappings"])
    # Columns line up: the build ID column starts at the same place.
    col = lines[2].index("build_id")
    for line, m in zip(lines[3:], doc["mappings"]):
        assert line[col:].startswith(m["build_id"] or "-")
        assert line.split()[0] == m["start"]
    assert any(l.endswith("/nl\\nname.so") for l in lines)
    assert any(l.endswith("/lit\\\\012name.so") for l in lines)
    assert any(l.endswith("/gone.so (deleted)") for l in lines)


def test_self_and_several_pids(sleeper):
    me = modmap_json("--self")
    assert me["exe"].endswith("/modmap") and me["pid"] > 0
    docs = modmap_json("--pid", sleeper.pid, "--pid", sleeper.pid)
    assert isinstance(docs, list) and [d["pid"] for d in docs] == [sleeper.pid] * 2
    assert docs[0]["exe"] == os.readlink(f"/proc/{sleeper.pid}/exe")


@pytest.mark.parametrize("source", [pytest.param("query", marks=needs("procmap_query")),
                                    "maps"])
def test_no_memory_errors_or_leaks(edge, source):
    """Every path through the backend under valgrind: clean, no leaks."""
    p = subprocess.run(["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect,possible",
                        str(FIXTURES.parent / "modmap"), "--pid", str(edge.pid),
                        "--source", source, "--mappings", "all", "-f", "json"],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert json.loads(p.stdout)["pid"] == edge.pid


def test_each_file_is_opened_once(edge, tmp_path):
    """A library mapped in five segments is opened (and read) once."""
    log = tmp_path / "strace.log"
    subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=openat2,openat,pread64",
                    str(FIXTURES.parent / "modmap"), "--pid", str(edge.pid), "--source", "maps",
                    "--mappings", "all", "-o", str(tmp_path / "out.txt")], check=True)
    calls = log.read_text(errors="replace").splitlines()
    space = edge.paths["space"]
    opens = [c for c in calls if "openat2(" in c and "with space.so" in c]
    assert len(opens) == 1, opens
    segments = [m for m in modmap_json("--pid", edge.pid, "--mappings", "all")["mappings"]
                if m["file"] == space]
    assert len(segments) == 5
    # Only headers and notes are read: a few preads per file (the ELF
    # header, the program header table, a note or two), never the file.
    preads = [c for c in calls if "pread64(" in c]
    distinct = {(m["dev"], m["inode"]) for m in modmap_json(
        "--pid", edge.pid, "--mappings", "all", "--source", "maps")["mappings"]
        if "inode" in m}
    assert 0 < len(preads) <= 5 * len(distinct), (len(preads), len(distinct))


def test_jq_reads_the_json(edge):
    """Shell scripts read the JSON with jq: names and addresses come through."""
    out = run_modmap("--pid", edge.pid, "-f", "json").stdout
    doc = json.loads(out)
    jq = subprocess.run(["jq", "-r", ".mappings[] | [.start, .file] | @tsv"], input=out,
                        capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
    rows = [line.split("\t", 1) for line in jq.splitlines()]
    assert [r[0] for r in rows] == [m["start"] for m in doc["mappings"]]
    # jq keeps the escaped newline as \n in @tsv, and gives other names back whole.
    assert edge.paths["space"] in [r[1] for r in rows]
    assert edge.paths["utf8"] in [r[1] for r in rows]


@pytest.mark.parametrize("mappings", ["exec", "all"])
@needs("procmap_query")
def test_sources_agree_on_a_low_64bit_process(spawn, mappings):
    """A static, non-PIE process without a vDSO: every executable mapping is
    below 4 GiB, yet it is 64-bit and the kernel lists its gate area."""
    proc = spawn([FIXTURES / "lowexec"])
    q = modmap_json("--pid", proc.pid, "--source", "query", "--mappings", mappings)
    m = modmap_json("--pid", proc.pid, "--source", "maps", "--mappings", mappings)
    del q["time"], m["time"]
    assert q == m
    kernel = [k["name"] for k in proc_maps(proc.pid)]
    assert ("[vsyscall]" in kernel) == ("[vsyscall]" in files(q))
    assert "[vdso]" not in files(q)


def test_text_escapes_what_a_terminal_would_act_on(spawn, tmp_path):
    """A hostile process names its libraries with terminal escape sequences:
    the text output must carry none of them, in any encoding."""
    names = [b"esc\x1b[31m.so", b"c1\xc2\x9b31m.so", b"raw\x9b31m.so", b"del\x7f.so",
             "ls\u2028.so".encode()]
    args = [FIXTURES / "mapper"]
    for n in names:
        p = os.fsencode(str(tmp_path)) + b"/" + n
        shutil.copy(LIBFIX, p)
        args.append(os.fsdecode(b"load:" + p))
    proc = spawn(args)
    out = run_modmap("--pid", proc.pid).stdout
    assert b"\x1b" not in out and b"\x7f" not in out
    text = out.decode("utf-8", "surrogateescape")
    assert not any("\x80" <= ch <= "\x9f" or "\udc80" <= ch <= "\udcff" for ch in text)
    assert "\u2028" not in text
    for want in ("esc\\x1b[31m.so", "c1\\u009b31m.so", "raw\\x9b31m.so", "del\\x7f.so",
                 "ls\\u2028.so"):
        assert want in text, want


def test_a_file_mapped_by_many_processes_is_read_once(spawn, tmp_path):
    """The identity cache lives for the run: two processes mapping the same
    files cost one read of each file, not two."""
    procs = [spawn([FIXTURES / "mapper", f"load:{LIBFIX}"]) for _ in range(2)]
    log = tmp_path / "strace.log"
    subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=openat",
                    str(FIXTURES.parent / "modmap"), "--source", "maps", "--mappings", "all",
                    "--pid", str(procs[0].pid), "--pid", str(procs[1].pid),
                    "-o", str(tmp_path / "out.txt")], check=True)
    # Each read of a file's contents reopens it through /proc/self/fd.
    reads = [c for c in log.read_text(errors="replace").splitlines()
             if '"/proc/self/fd/' in c and "= -1" not in c]
    docs = modmap_json("--source", "maps", "--mappings", "all",
                       "--pid", procs[0].pid, "--pid", procs[1].pid)
    files = {(m["dev"], m["inode"]) for d in docs for m in d["mappings"] if "inode" in m}
    shared = files & {(m["dev"], m["inode"]) for m in docs[0]["mappings"] if "inode" in m}
    assert len(shared) >= 4      # mapper, libfix, libc, the loader
    assert len(reads) == len(files), (len(reads), len(files))
