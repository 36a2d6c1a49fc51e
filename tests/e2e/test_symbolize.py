"""Symbolization (docs/symbolize.md): `lookup --symbolize` names addresses of
a live process, a saved snapshot with a collect store, stripped binaries
with separate debug files, MiniDebugInfo and a real debuginfod server.

The oracle is llvm-symbolizer --inlining (LLVM's DWARF reader, not
elfutils) on the unstripped fixture at the address lookup gives as
elf_vaddr: function names, files, lines, columns and the inline chain must
be equal. Where llvm-symbolizer cannot read the source (MiniDebugInfo), the
oracle is nm on the unstripped file."""
import gzip
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BUILD, FIXTURES, MODMAP, go_env, need, needs, run_modmap, start

pytestmark = needs("llvm_symbolizer", "symbolize")

SYMFIX = FIXTURES / "symfix"
LIBSYMFIX = FIXTURES / "libsymfix.so"
SYMFIXXX = FIXTURES / "symfixxx"
NOSYM = BUILD / "nosym" / "modmap"


# ---- helpers ----------------------------------------------------------------

def marks(proc):
    """The fixture's ready line: TAG=ADDR for each marker, as a dict of the
    call instructions' addresses (return address - 1)."""
    out = {}
    for word in proc.ready.split()[1:]:
        tag, _, val = word.partition("=")
        if val.startswith("0x"):
            out[tag] = int(val, 16) - 1
    return out


def lookup(target, addrs, *extra, check=True):
    args = ["lookup", *target, "--symbolize", *extra, "--format", "json",
            *[hex(a) for a in addrs]]
    p = run_modmap(*args, check=check)
    return json.loads(p.stdout) if p.returncode == 0 else None, p.stderr.decode()


def frames(answer):
    return [(f.get("function"), f.get("file"), f.get("line"), f.get("column"))
            for f in answer["symbols"]]


def llvm(obj, vaddrs):
    """llvm-symbolizer --inlining's frames for each vaddr of obj."""
    p = subprocess.run(["llvm-symbolizer", "--inlining", "--output-style=JSON",
                        f"--obj={obj}"], input="".join(f"{v:#x}\n" for v in vaddrs),
                       capture_output=True, text=True, timeout=120, check=True)
    out = []
    for line in p.stdout.splitlines():
        sym = json.loads(line)["Symbol"]
        out.append([(s["FunctionName"], s["FileName"] or None, s["Line"] or None,
                     s["Column"] or None) for s in sym if s["FunctionName"]])
    return out


def nm_function_at(obj, vaddr):
    """The symbol table's function holding vaddr (nm on the unstripped file)."""
    best = None
    for line in subprocess.run(["nm", "-S", "--defined-only", str(obj)], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            start, size = int(parts[0], 16), int(parts[1], 16)
            if start <= vaddr < start + size:
                best = parts[3]
    return best


def build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


def split_debug(binary, debug):
    """As distributions do: the debug info into debug, the binary stripped."""
    subprocess.run(["objcopy", "--only-keep-debug", str(binary), str(debug)], check=True)
    subprocess.run(["strip", "--strip-all", str(binary)], check=True)


def into_build_id_dir(debug_dir, debug, bid):
    d = Path(debug_dir) / ".build-id" / bid[:2]
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(debug, d / (bid[2:] + ".debug"))


def copy_fixture(tmp_path):
    """symfix and its library in a directory of their own."""
    d = tmp_path / "bin"
    d.mkdir()
    shutil.copy(SYMFIX, d / "symfix")
    shutil.copy(LIBSYMFIX, d / "libsymfix.so")
    return d


@pytest.fixture
def running():
    procs = []

    def _start(argv, **kw):
        p = start(argv, **kw)
        procs.append(p)
        return p

    yield _start
    for p in procs:
        p.stop()


# ---- the oracle: llvm-symbolizer ---------------------------------------------

def test_inline_static_and_library_frames_equal_llvm_symbolizer(running):
    proc = running([SYMFIX])
    m = marks(proc)
    answers, _ = lookup(["--pid", proc.pid], [m["inline"], m["static"], m["lib"]])
    objs = [SYMFIX, SYMFIX, LIBSYMFIX]
    for a, obj in zip(answers, objs):
        assert Path(a["file"]).resolve() == obj.resolve()
        assert frames(a) == llvm(obj, [int(a["elf_vaddr"], 16)])[0]
    # The chains the fixture was written to have: two inlined levels in a
    # static function, and a header's helper inlined into the library.
    assert [f[0] for f in frames(answers[0])] == ["leaf", "middle", "static_fn"]
    assert [f[0] for f in frames(answers[1])] == ["static_fn"]
    assert [f[0] for f in frames(answers[2])] == ["symfix_helper", "symfix_lib"]
    assert answers[2]["symbols"][0]["file"].endswith("tests/fixtures/symfix.h")
    # system_name is the symbol's own name; start_line is not printed by
    # llvm-symbolizer's JSON for inlined frames, so only its presence counts.
    assert answers[1]["symbols"][0]["system_name"] == "static_fn"


def test_every_instruction_of_the_program_equals_llvm_symbolizer(running):
    """Every byte of .text of the PIE (not only the marked calls): the
    whole inline chain of each agrees with llvm-symbolizer."""
    proc = running([SYMFIX])
    m = marks(proc)
    base = m["static"] - int(lookup(["--pid", proc.pid], [m["static"]])[0][0]["elf_vaddr"], 16)
    text = subprocess.run(["readelf", "-SW", str(SYMFIX)], capture_output=True, text=True,
                          check=True).stdout
    row = next(line.split("]", 1)[1].split() for line in text.splitlines()
               if " .text " in line)
    start, size = int(row[2], 16), int(row[4], 16)
    vaddrs = list(range(start, start + size))
    answers, _ = lookup(["--pid", proc.pid], [base + v for v in vaddrs])
    oracle = llvm(SYMFIX, vaddrs)
    named = 0
    for v, a, want in zip(vaddrs, answers, oracle):
        assert int(a["elf_vaddr"], 16) == v
        if want and want[0][2]:
            assert frames(a) == want, hex(v)
            named += 1
        elif want:     # no line table here: the symbol table's name (llvm adds
            # the STT_FILE symbol's file name, which debug info does not give)
            assert [f[0] for f in frames(a)] == [w[0] for w in want], hex(v)
    assert named > 100


def test_cxx_frame_is_demangled(running):
    proc = running([SYMFIXXX])
    m = marks(proc)
    [a], _ = lookup(["--pid", proc.pid], [m["cxx"]])
    assert frames(a) == llvm(SYMFIXXX, [int(a["elf_vaddr"], 16)])[0]
    sym = a["symbols"][0]
    assert sym["function"] == "shapes::Box<long>::area(int) const"
    assert sym["system_name"] == "_ZNK6shapes3BoxIlE4areaEi"
    out = subprocess.run(["c++filt", sym["system_name"]], capture_output=True, text=True)
    assert out.stdout.strip() == sym["function"]


def test_text_format_prints_function_file_line_and_inlined_callers(running):
    proc = running([SYMFIX])
    m = marks(proc)
    p = run_modmap("lookup", "--pid", proc.pid, "--symbolize", hex(m["inline"]))
    lines = p.stdout.decode().splitlines()
    [a], _ = lookup(["--pid", proc.pid], [m["inline"]])
    fr = a["symbols"]
    assert lines[0].startswith(hex(m["inline"]) + " ")
    assert lines[1:] == [f"  {f['function']} {f['file']}:{f['line']}" if i == 0 else
                         f"    inlined into {f['function']} {f['file']}:{f['line']}"
                         for i, f in enumerate(fr)]


def test_without_symbolize_there_are_no_symbols(running):
    proc = running([SYMFIX])
    m = marks(proc)
    out = json.loads(run_modmap("lookup", "--pid", proc.pid, "--format", "json",
                                hex(m["static"])).stdout)
    assert "symbols" not in out[0]


# ---- separate debug files -----------------------------------------------------

def test_stripped_binary_named_from_a_build_id_debug_dir(tmp_path, running):
    d = copy_fixture(tmp_path)
    split_debug(d / "symfix", tmp_path / "symfix.debug")
    (tmp_path / "symfix.debug").rename(tmp_path / "elsewhere.debug")
    proc = running([d / "symfix"])
    m = marks(proc)
    [a], err = lookup(["--pid", proc.pid], [m["inline"]])
    assert all(f[0] != "leaf" for f in frames(a))      # stripped: no DWARF, no static name
    assert "symfix" in err and "modmap: " in err
    dd = tmp_path / "debug"
    into_build_id_dir(dd, tmp_path / "elsewhere.debug", build_id(d / "symfix"))
    [a], err = lookup(["--pid", proc.pid], [m["inline"]], "--debug-dir", dd)
    assert frames(a) == llvm(SYMFIX, [int(a["elf_vaddr"], 16)])[0]


def test_debug_file_with_another_build_id_is_refused(tmp_path, running):
    d = copy_fixture(tmp_path)
    split_debug(d / "symfix", tmp_path / "symfix.debug")
    other = tmp_path / "other.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(SYMFIXXX), str(other)], check=True)
    dd = tmp_path / "debug"
    into_build_id_dir(dd, other, build_id(d / "symfix"))
    proc = running([d / "symfix"])
    m = marks(proc)
    [a], err = lookup(["--pid", proc.pid], [m["static"]], "--debug-dir", dd)
    assert a["symbols"] == [] or all(f[0] != "static_fn" and "area" not in (f[0] or "")
                                     for f in frames(a))
    assert "symfix" in err


def test_debuglink_with_crc_and_a_crc_mismatch(tmp_path, running):
    """A binary without a build ID finds its debug file by .gnu_debuglink,
    only when the file's CRC is the one the link names."""
    d = tmp_path / "bin"
    d.mkdir()
    shutil.copy(FIXTURES / "symfix-nobid", d / "symfix")
    shutil.copy(LIBSYMFIX, d / "libsymfix.so")
    assert build_id(d / "symfix") is None
    debug = d / "symfix.dbg"
    split_debug(d / "symfix", debug)
    subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", str(d / "symfix")],
                   check=True, cwd=d)
    dd = tmp_path / "debug"
    (dd / str(d).lstrip("/")).mkdir(parents=True)
    debug.rename(dd / str(d).lstrip("/") / "symfix.dbg")
    proc = running([d / "symfix"])
    m = marks(proc)
    [a], _ = lookup(["--pid", proc.pid], [m["inline"]], "--debug-dir", dd)
    assert frames(a) == llvm(FIXTURES / "symfix-nobid", [int(a["elf_vaddr"], 16)])[0]
    # Another build's debug file under the same name: its CRC differs.
    subprocess.run(["objcopy", "--only-keep-debug", str(SYMFIX),
                    str(dd / str(d).lstrip("/") / "symfix.dbg")], check=True)
    [a], err = lookup(["--pid", proc.pid], [m["inline"]], "--debug-dir", dd)
    assert all(f[0] not in ("leaf", "middle") for f in frames(a))
    assert "symfix" in err


def test_minidebuginfo_names_the_static_function(tmp_path, running):
    """MiniDebugInfo as Fedora builds it (find-debuginfo's add_minidebug):
    the symbols .dynsym lacks, in an xz-compressed ELF in .gnu_debugdata."""
    need("xz")
    d = copy_fixture(tmp_path)
    b = d / "symfix"
    debug = tmp_path / "symfix.debug"
    split_debug(b, debug)
    nm = lambda *a: subprocess.run(["nm", *a], capture_output=True, text=True,
                                   check=True).stdout.split("\n")
    dyn = {ln.split()[0] for ln in nm("-D", "--format=posix", "--defined-only", str(b)) if ln}
    funcs = {ln.split()[0] for ln in nm("--format=posix", "--defined-only", str(debug))
             if ln and ln.split()[1] in ("T", "t", "D")}
    keep = tmp_path / "keep"
    keep.write_text("".join(f"{s}\n" for s in sorted(funcs - dyn)))
    mini = tmp_path / "mini"
    subprocess.run(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section",
                    ".comment", f"--keep-symbols={keep}", str(debug), str(mini)], check=True)
    subprocess.run(["xz", "-f", str(mini)], check=True)
    subprocess.run(["objcopy", "--add-section", f".gnu_debugdata={mini}.xz", str(b)], check=True)
    debug.unlink()
    proc = running([b])
    m = marks(proc)
    [a], _ = lookup(["--pid", proc.pid], [m["static"]], "--debug-dir", tmp_path / "none")
    want = nm_function_at(SYMFIX, int(a["elf_vaddr"], 16))
    assert want == "static_fn"
    assert [f[0] for f in frames(a)] == [want]
    assert a["symbols"][0].get("file") is None


def test_corrupt_dwarf_gives_no_name_and_a_reason(tmp_path, running):
    d = copy_fixture(tmp_path)
    b = d / "symfix"
    subprocess.run(["objcopy", "--strip-symbol=static_fn", "-R", ".symtab", "-R", ".strtab",
                    str(b)], check=False)
    sec = subprocess.run(["readelf", "-SW", str(b)], capture_output=True, text=True,
                         check=True).stdout
    for name in (".debug_info", ".debug_abbrev", ".debug_line"):
        row = next(line.split("]", 1)[1].split() for line in sec.splitlines()
                   if f" {name} " in line)
        off, size = int(row[3], 16), int(row[4], 16)
        with open(b, "r+b") as f:
            f.seek(off)
            f.write(bytes([0xff]) * size)
    proc = running([b])
    m = marks(proc)
    t0 = time.monotonic()
    [a], err = lookup(["--pid", proc.pid], [m["static"], ][:1])
    assert time.monotonic() - t0 < 30
    assert all(f[0] != "static_fn" for f in frames(a))
    assert "symfix" in err and err.startswith("modmap: ")


# ---- debuginfod ------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debuginfod_env(tmp_path, url):
    env = dict(os.environ)
    env.update(DEBUGINFOD_URLS=url, DEBUGINFOD_CACHE_PATH=str(tmp_path / "cache"),
               DEBUGINFOD_TIMEOUT="2", DEBUGINFOD_RETRY_LIMIT="0")
    env.pop("DEBUGINFOD_PROGRESS", None)
    return env


@needs("debuginfod")
def test_debuginfod_serves_the_debug_file(tmp_path, running):
    d = copy_fixture(tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    split_debug(d / "symfix", files / "symfix.debug")
    port = free_port()
    server = subprocess.Popen(["debuginfod", "-d", str(tmp_path / "db.sqlite"), "-p", str(port),
                               "-F", str(files)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:        # until its first scan is done
            try:
                with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
                    out = r.read().decode()
            except OSError:
                out = ""
            if 'scanned_files_total{source="file"} 1' in out:
                break
            assert time.monotonic() < deadline, "debuginfod did not scan its directory"
            time.sleep(0.2)
        proc = running([d / "symfix"])
        m = marks(proc)
        env = debuginfod_env(tmp_path, url)
        p = subprocess.run([str(MODMAP), "lookup", "--pid", str(proc.pid), "--symbolize",
                            "--debug-dir", str(tmp_path / "none"), "--format", "json",
                            hex(m["inline"])], capture_output=True, env=env, timeout=120)
        assert p.returncode == 0, p.stderr
        [a] = json.loads(p.stdout)
        assert frames(a) == llvm(SYMFIX, [int(a["elf_vaddr"], 16)])[0]
        assert any((tmp_path / "cache").rglob("debuginfo"))
    finally:
        server.kill()
        server.wait()


def test_hanging_debuginfod_is_bounded_by_its_timeout(tmp_path, running):
    """A server that accepts and never answers: DEBUGINFOD_TIMEOUT bounds
    the wait; the frame goes unnamed and stderr says why."""
    d = copy_fixture(tmp_path)
    split_debug(d / "symfix", tmp_path / "symfix.debug")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        proc = running([d / "symfix"])
        m = marks(proc)
        env = debuginfod_env(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}")
        t0 = time.monotonic()
        p = subprocess.run([str(MODMAP), "lookup", "--pid", str(proc.pid), "--symbolize",
                            "--debug-dir", str(tmp_path / "none"), "--format", "json",
                            hex(m["inline"])], capture_output=True, env=env, timeout=120)
        elapsed = time.monotonic() - t0
        assert p.returncode == 0, p.stderr
        assert held, "modmap never asked the server"
        assert elapsed < 30
        [a] = json.loads(p.stdout)
        assert all(f[0] not in ("leaf", "static_fn") for f in frames(a))
        assert "symfix" in p.stderr.decode()
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        listener.close()


# ---- deleted files, saved snapshots -------------------------------------------------

def test_deleted_library_symbolized_live(tmp_path, running):
    need("map_files")
    d = copy_fixture(tmp_path)
    proc = running([d / "symfix"])
    m = marks(proc)
    (d / "libsymfix.so").unlink()
    [a], _ = lookup(["--pid", proc.pid], [m["lib"]])
    assert a.get("deleted") is True or "(deleted)" in a["file"] or not Path(a["file"]).exists()
    assert frames(a) == llvm(LIBSYMFIX, [int(a["elf_vaddr"], 16)])[0]
    assert [f[0] for f in frames(a)] == ["symfix_helper", "symfix_lib"]


def test_saved_snapshot_with_a_collect_store_after_the_binaries_are_gone(tmp_path, running):
    d = copy_fixture(tmp_path)
    proc = running([d / "symfix"])
    m = marks(proc)
    live, _ = lookup(["--pid", proc.pid], [m["inline"], m["lib"]])
    snap = tmp_path / "snap.pb.gz"
    store = tmp_path / "store"
    run_modmap("--pid", proc.pid, "--format", "pprof", "-o", snap)
    run_modmap("collect", "--pid", proc.pid, "-o", store)
    proc.stop()
    shutil.rmtree(d)
    answers, _ = lookup(["--snapshot", snap], [m["inline"], m["lib"]], "--debug-dir", store)
    for a, want, obj in zip(answers, live, [SYMFIX, LIBSYMFIX]):
        assert frames(a) == frames(want)
        assert frames(a) == llvm(obj, [int(want["elf_vaddr"], 16)])[0]
    # Without the store: another program now at the old path is not taken
    # for it (its build ID differs), so no names, and a reason.
    d.mkdir()
    shutil.copy(SYMFIXXX, d / "symfix")
    answers, err = lookup(["--snapshot", snap], [m["inline"]], "--debug-dir", tmp_path / "none")
    assert answers[0]["symbols"] == []
    assert "symfix" in err


# ---- the build without elfutils ------------------------------------------------------

def test_build_without_elfutils_says_so(running):
    """make SYMBOLIZE=0: ELF modules are not symbolized, and each one's line
    on standard error says why; the answers are still given."""
    need("nosym")
    proc = running([SYMFIX])
    m = marks(proc)
    p = subprocess.run([str(NOSYM), "lookup", "--pid", str(proc.pid), "--symbolize", "-f", "json",
                        hex(m["static"])], capture_output=True, timeout=60)
    assert p.returncode == 0
    assert "symbolization not built" in p.stderr.decode()
    [a] = json.loads(p.stdout)
    assert a["symbols"] == [] and int(a["elf_vaddr"], 16) > 0


# ---- attach --symbolize -----------------------------------------------------------

def _enc(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_uint(number, v):
    return _enc(number << 3) + _enc(v)


def pb_bytes(number, b):
    return _enc(number << 3 | 2) + _enc(len(b)) + b


def profile_of(addrs):
    """A CPU-like profile, as an eBPF profiler writes one: a sample a
    location, each location an address and nothing else (no mapping, no
    line); gzip'd."""
    strings = [b"", b"samples", b"count"]
    out = pb_bytes(1, pb_uint(1, 1) + pb_uint(2, 2))
    for i in range(len(addrs)):
        out += pb_bytes(2, pb_uint(1, i + 1) + pb_uint(2, 1))
    for i, a in enumerate(addrs):
        out += pb_bytes(4, pb_uint(1, i + 1) + pb_uint(3, a))
    for s in strings:
        out += pb_bytes(6, s)
    return gzip.compress(out)


def go_pprof(*args):
    need("go")
    env = go_env()
    env["PPROF_BINARY_PATH"] = "/nonexistent"
    p = subprocess.run(["go", "tool", "pprof", *map(str, args)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def raw_locations(text):
    """go tool pprof -raw's Locations: address -> [(function, file, line,
    start_line)], innermost first."""
    out, cur, in_locs = {}, None, False
    for line in text.splitlines():
        if line.startswith("Locations"):
            in_locs = True
            continue
        if line.startswith("Mappings"):
            break
        if not in_locs or not line.strip():
            continue
        parts = line.split()
        if parts[0].endswith(":"):          # "1: 0x55.. M=1 leaf /f.c:32 s=30"
            cur = int(parts[1], 16)
            out[cur] = []
            parts = parts[3:]
        fn, place, start = parts[0], parts[1], parts[2]
        f, _, ln = place.rpartition(":")
        out[cur].append((fn, f, int(ln), int(start.removeprefix("s="))))
    return out


def llvm_start_lines(obj, vaddr):
    p = subprocess.run(["llvm-symbolizer", "--inlining", "--output-style=JSON", f"--obj={obj}",
                        f"{vaddr:#x}"], capture_output=True, text=True, timeout=60, check=True)
    return [s["StartLine"] for s in json.loads(p.stdout)[0]["Symbol"]]


def test_attach_symbolize_live_read_by_go_tool_pprof(tmp_path, running):
    d = copy_fixture(tmp_path)
    proc = running([d / "symfix"])
    m = marks(proc)
    addrs = [m["inline"], m["static"], m["lib"]]
    prof, named = tmp_path / "cpu.pb.gz", tmp_path / "named.pb.gz"
    prof.write_bytes(profile_of(addrs))
    p = run_modmap("attach", "--pid", proc.pid, "--symbolize", prof, "-o", named)
    assert b"3 symbolized" in p.stderr
    want, _ = lookup(["--pid", proc.pid], addrs)
    proc.stop()
    shutil.rmtree(d)                 # no binaries left to read
    locs = raw_locations(go_pprof("-raw", "-symbolize=none", named))
    for a, w, obj in zip(addrs, want, [SYMFIX, SYMFIX, LIBSYMFIX]):
        vaddr = int(w["elf_vaddr"], 16)
        oracle = llvm(obj, [vaddr])[0]
        assert [f[:3] for f in locs[a]] == [(x[0], x[1], x[2]) for x in oracle]
        assert [f[3] for f in locs[a]] == llvm_start_lines(obj, vaddr)
    mappings = go_pprof("-raw", "-symbolize=none", named).split("Mappings")[1]
    assert mappings.count("[FN][FL][LN][IN]") == 2      # the program and its library
    traces = go_pprof("-traces", "-symbolize=none", named)
    for fn in ("leaf", "middle", "static_fn", "symfix_helper", "symfix_lib"):
        assert fn in traces
    assert "0x" not in traces.split("-----------+")[1]      # every frame named


def google_pprof(*args):
    """google/pprof's own command (build/pprof), with no binary path to search."""
    exe = BUILD / "pprof"
    if not exe.exists():
        need("go")
        subprocess.run(["make", "-s", str(exe.relative_to(BUILD.parent))], cwd=BUILD.parent,
                       check=True, timeout=600)
    env = dict(os.environ, PPROF_BINARY_PATH="/nonexistent", HOME="/nonexistent")
    p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_attach_symbolize_from_a_snapshot_and_a_collect_store_after_exit(tmp_path, running):
    """The promise of docs/symbolize.md: snapshot and collect while the
    process runs; after it exited and its binaries were deleted, attach
    --symbolize with the collect store as --debug-dir names every frame,
    as google/pprof and go tool pprof read it with no binaries anywhere."""
    d = copy_fixture(tmp_path)
    proc = running([d / "symfix"])
    m = marks(proc)
    addrs = [m["inline"], m["static"], m["lib"]]
    want, _ = lookup(["--pid", proc.pid], addrs)
    snap, store = tmp_path / "snap.pb.gz", tmp_path / "store"
    run_modmap("--pid", proc.pid, "--format", "pprof", "-o", snap)
    run_modmap("collect", "--pid", proc.pid, "-o", store)
    proc.stop()
    shutil.rmtree(d)
    prof, named = tmp_path / "cpu.pb.gz", tmp_path / "named.pb.gz"
    prof.write_bytes(profile_of(addrs))
    p = run_modmap("attach", "--snapshot", snap, "--symbolize", "--debug-dir", store, prof,
                   "-o", named)
    assert b"3 symbolized" in p.stderr
    locs = raw_locations(go_pprof("-raw", "-symbolize=none", named))
    for a, w in zip(addrs, want):
        assert [f[:3] for f in locs[a]] == [(x[0], x[1], x[2]) for x in frames(w)]
    traces = google_pprof("-traces", "-symbolize=none", named)
    body = traces.split("-----------+", 1)[1]
    for fn in ("leaf", "middle", "static_fn", "symfix_helper", "symfix_lib"):
        assert fn in body
    assert "0x" not in body            # no frame left as a bare address


def test_attach_symbolize_with_the_snapshot_on_standard_input(tmp_path, running):
    """attach reads a saved snapshot once, for its mapping table and the
    symbolizer alike, so the snapshot may come on standard input (a pipe
    from another host): every frame is named as lookup names it live."""
    proc = running([SYMFIX])
    m = marks(proc)
    addrs = [m["inline"], m["static"], m["lib"]]
    want, _ = lookup(["--pid", proc.pid], addrs)
    snap = run_modmap("--pid", proc.pid, "--format", "pprof").stdout
    prof, named = tmp_path / "cpu.pb.gz", tmp_path / "named.pb.gz"
    prof.write_bytes(profile_of(addrs))
    p = run_modmap("attach", "--snapshot", "-", "--symbolize", prof, "-o", named, input=snap)
    assert b"3 symbolized" in p.stderr
    locs = raw_locations(go_pprof("-raw", "-symbolize=none", named))
    for a, w in zip(addrs, want):
        assert [f[:3] for f in locs[a]] == [(x[0], x[1], x[2]) for x in frames(w)]


def test_attach_symbolize_keeps_lines_already_there(tmp_path, running):
    """A location that already has a line (a runtime's own symbolization)
    keeps it; the others get names."""
    proc = running([SYMFIX])
    m = marks(proc)
    strings = [b"", b"samples", b"count", b"mine", b"mine.c"]
    body = pb_bytes(1, pb_uint(1, 1) + pb_uint(2, 2))
    body += pb_bytes(2, pb_uint(1, 1) + pb_uint(2, 1)) + pb_bytes(2, pb_uint(1, 2) + pb_uint(2, 1))
    body += pb_bytes(4, pb_uint(1, 1) + pb_uint(3, m["static"]) +
                     pb_bytes(4, pb_uint(1, 7) + pb_uint(2, 99)))
    body += pb_bytes(4, pb_uint(1, 2) + pb_uint(3, m["inline"]))
    body += pb_bytes(5, pb_uint(1, 7) + pb_uint(2, 3) + pb_uint(3, 3) + pb_uint(4, 4))
    for s in strings:
        body += pb_bytes(6, s)
    prof, named = tmp_path / "cpu.pb", tmp_path / "named.pb.gz"
    prof.write_bytes(body)
    p = run_modmap("attach", "--pid", proc.pid, "--symbolize", prof, "-o", named)
    assert b"1 symbolized" in p.stderr
    locs = raw_locations(go_pprof("-raw", "-symbolize=none", named))
    assert [f[:3] for f in locs[m["static"]]] == [("mine", "mine.c", 99)]
    assert [f[0] for f in locs[m["inline"]]] == ["leaf", "middle", "static_fn"]


def test_attach_symbolize_without_elfutils_says_so(tmp_path, running):
    need("nosym")
    proc = running([SYMFIX])
    m = marks(proc)
    prof, out = tmp_path / "cpu.pb.gz", tmp_path / "out.pb.gz"
    prof.write_bytes(profile_of([m["static"]]))
    p = subprocess.run([str(NOSYM), "attach", "--pid", str(proc.pid), "--symbolize", str(prof),
                        "-o", str(out)], capture_output=True, timeout=60)
    assert p.returncode == 0 and b"symbolization not built" in p.stderr
    assert b"0 symbolized" in p.stderr and out.exists()


# ---- lookup --jit ---------------------------------------------------------------------

@needs("node")
@pytest.mark.parametrize("via", ["pid", "pprof"])
def test_lookup_jit_names_js_function(tmp_path, running, via):
    """lookup --jit names an address in V8's code from its perf map, as
    attach --jit does: live, or from a snapshot saved with --jit after the
    runtime exited. The oracle is the runtime's own perf map."""
    from test_jit import HOT_JS, NODE, hot_symbol, perf_map_oracle, wait_for
    script = tmp_path / "hot.js"
    script.write_text(HOT_JS)
    proc = running([NODE, "--perf-basic-prof", script], cwd=tmp_path)
    path = Path(f"/tmp/perf-{proc.pid}.map")
    try:
        wait_for(f"*hotLoop in {path}", lambda: path.exists() and b"*hotLoop" in path.read_bytes())
        start_, size, name = hot_symbol(perf_map_oracle(path))
        hot = start_ + size // 2
        target = ["--pid", proc.pid]
        if via != "pid":
            snap = tmp_path / f"snap.{via}"
            run_modmap("--pid", proc.pid, "--jit", "-f", via, "-o", snap)
            proc.stop()
            target = ["--snapshot", snap]
        out = json.loads(run_modmap("lookup", *target, "--jit", "-f", "json", hex(hot)).stdout)
        assert out[0]["jit"] == "perf-map"
        assert [f["function"] for f in out[0]["symbols"]] == [name]
        text = run_modmap("lookup", *target, "--jit", hex(hot)).stdout.decode().splitlines()
        assert text[1] == f"  {name} ??:0"
        # Without --jit the address is only placed.
        plain = json.loads(run_modmap("lookup", *target, "-f", "json", hex(hot)).stdout)
        assert "symbols" not in plain[0] and "jit" not in plain[0]
    finally:
        path.unlink(missing_ok=True)


# ---- the library ---------------------------------------------------------------------

def test_library_symbolizes_and_respects_an_older_callers_frame_size(tmp_path, running):
    """modmap_symbolize from a program built against include/modmap.h: the
    frames equal llvm-symbolizer's; a caller with a smaller struct
    modmap_frame (an older header) gets the same frames at its stride and
    nothing written past them."""
    exe = tmp_path / "symapi"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", f"-I{BUILD.parent / 'include'}",
                    "-o", str(exe), str(BUILD.parent / "tests/fixtures/symapi.c"),
                    f"-L{BUILD}", "-lmodmap", f"-Wl,-rpath,{BUILD}"], check=True, timeout=120)
    proc = running([SYMFIX])
    m = marks(proc)
    addrs = [m["inline"], m["static"], m["lib"]]
    p = subprocess.run([str(exe), str(proc.pid), *[hex(a) for a in addrs]], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    want, _ = lookup(["--pid", proc.pid], addrs)
    for line, a, obj in zip(p.stdout.splitlines(), want, [SYMFIX, SYMFIX, LIBSYMFIX]):
        got = [tuple(f.split("|")) for f in line.split(";")]
        oracle = llvm(obj, [int(a["elf_vaddr"], 16)])[0]
        assert [(g[0], g[1], int(g[2]), int(g[3])) for g in got] == oracle
        assert [int(g[4]) for g in got] == llvm_start_lines(obj, int(a["elf_vaddr"], 16))
