"""--jit and attach --jit (docs/jit.md) against a real JIT, Node (V8), which
writes a perf map with --perf-basic-prof and a jitdump with --perf-prof.
The oracles are the runtime's own files, parsed here, /proc/PID/maps, and
google/pprof's profile package (pprofedit). Then hostile perf maps and
jitdumps, served by a small process that maps them as a runtime would."""
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (FIXTURES, MODMAP, cbor_whole, modmap_json, need, needs, proc_maps, run_modmap,
                      start)

NODE = shutil.which("node") or shutil.which("nodejs")

HOT_JS = """// a hot function V8 optimizes
'use strict';
function hotLoop(n) {
  let s = 0;
  for (let i = 0; i < n; i++) { s = (s + i * 7) % 1000003; }
  return s;
}
let t = 0;
for (let k = 0; k < 3000; k++) t += hotLoop(10000);
console.log('ready ' + t);
setInterval(() => { hotLoop(100000); }, 20);
"""


def wait_for(what, check, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def perf_map_oracle(path):
    """(start, size, name) of every well-formed line, in file order."""
    out = []
    for line in Path(path).read_bytes().decode(errors="surrogateescape").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            out.append((int(parts[0], 16), int(parts[1], 16), parts[2]))
    return out


def jitdump_oracle(path):
    """(start, size, name) of every JIT_CODE_LOAD, in file order (perf's
    tools/perf/Documentation/jitdump-specification.txt)."""
    d = Path(path).read_bytes()
    off = struct.unpack_from("<I", d, 8)[0]
    out = []
    while off + 16 <= len(d):
        rid, total = struct.unpack_from("<II", d, off)
        if total < 16 or off + total > len(d):
            break
        if rid == 0:
            addr, size = struct.unpack_from("<QQ", d, off + 32)
            name = d[off + 56:d.index(b"\0", off + 56)].decode(errors="surrogateescape")
            out.append((addr, size, name))
        off += total
    return out


def hot_symbol(symbols):
    """The latest optimized hotLoop, which no later record overlaps."""
    for i in range(len(symbols) - 1, -1, -1):
        a, n, name = symbols[i]
        if "*hotLoop" in name and not any(b < a + n and a < b + m for b, m, _ in symbols[i + 1:]):
            return a, n, name
    raise AssertionError("no optimized hotLoop in the runtime's records")


@pytest.fixture
def node(spawn, tmp_path):
    """node(flag) starts Node with flag on a hot function; waits until the
    optimized function is in the runtime's file, whose path it returns."""
    pids = []

    def _node(flag):
        need("node")
        script = tmp_path / "hot.js"
        script.write_text(HOT_JS)
        proc = spawn([NODE, flag, str(script)], cwd=tmp_path)
        pids.append(proc.pid)
        assert proc.ready.startswith("ready"), proc.ready
        if flag == "--perf-basic-prof":
            path = Path(f"/tmp/perf-{proc.pid}.map")
        else:
            path = tmp_path / f"jit-{proc.pid}.dump"
        wait_for(f"*hotLoop in {path}",
                 lambda: path.exists() and b"*hotLoop" in path.read_bytes())
        proc.jitfile = path
        return proc
    yield _node
    for pid in pids:
        Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)


def jit_regions(pid):
    """Anonymous executable regions of pid, from the kernel."""
    return [m for m in proc_maps(pid) if "x" in m["perms"] and m["inode"] == 0
            and not m["name"]]


@pytest.mark.parametrize("flag,source", [("--perf-basic-prof", "perf-map"),
                                         ("--perf-prof", "jitdump")])
@needs("node")
def test_snapshot_lists_js_function(node, flag, source):
    proc = node(flag)
    oracle = (perf_map_oracle if source == "perf-map" else jitdump_oracle)(proc.jitfile)
    start_, size, name = hot_symbol(oracle)
    doc = modmap_json("--pid", proc.pid, "--jit")
    got = [j for j in doc["jit"] if int(j["start"], 16) == start_]
    assert got == [{"start": hex(start_), "size": size, "name": name, "source": source}]
    # Every listed symbol is one the runtime wrote (the file only grows).
    oracle = (perf_map_oracle if source == "perf-map" else jitdump_oracle)(proc.jitfile)
    written = {(a, n, s) for a, n, s in oracle}
    for j in doc["jit"]:
        if j["source"] == source:
            assert (int(j["start"], 16), j["size"], j["name"]) in written, j
    # It lies in a mapping named [jit], which is an anonymous executable
    # region of the kernel's.
    holder = [m for m in doc["mappings"]
              if int(m["start"], 16) <= start_ < int(m["limit"], 16)]
    assert [m["file"] for m in holder] == ["[jit]"]
    regions = {(r["start"], r["limit"]) for r in jit_regions(proc.pid)}
    assert (int(holder[0]["start"], 16), int(holder[0]["limit"], 16)) in regions
    # Without --jit, no [jit] and no "jit" key: exec mappings as before.
    plain = modmap_json("--pid", proc.pid)
    assert "jit" not in plain
    assert all(m["file"] != "[jit]" for m in plain["mappings"])
    # CBOR, read by cbor2: the same entry, addresses as integers.
    import cbor2
    cb = cbor_whole(run_modmap("--pid", proc.pid, "--jit", "-f", "cbor", "-o", "-").stdout)
    assert [j for j in cb["jit"] if j["start"] == start_] == [
        {"start": start_, "size": size, "name": name, "source": source}]
    # Text: a line per symbol after the mappings.
    text = run_modmap("--pid", proc.pid, "--jit").stdout.decode()
    assert f"{hex(start_)} " in text and name in text and "[jit]" in text


def libc_address(pid):
    for m in proc_maps(pid):
        if m["name"].endswith("libc.so.6") and "x" in m["perms"]:
            return m["start"] + 0x100, m["name"]
    raise AssertionError("no libc in the process")


def pprofedit(*args):
    p = subprocess.run([str(FIXTURES / "pprofedit"), *map(str, args)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def check_named(out, hot, name, libc, libc_path):
    import json
    d = json.loads(pprofedit("dump", out))
    loc = {l["Address"]: l for l in d["Locations"]}
    h, lc = loc[hot], loc[libc]
    assert h["Mapping"]["File"] == "[jit]"
    assert [f["Function"] for f in h["Frames"]] == [name]
    assert lc["Mapping"]["File"] == libc_path
    assert lc["Lines"] == 0 and not lc["Frames"]


@pytest.mark.parametrize("flag,source", [("--perf-basic-prof", "perf-map"),
                                         ("--perf-prof", "jitdump")])
@needs("node")
@pytest.mark.parametrize("via", ["pid", "pprof", "cbor"])
def test_attach_names_js_frame(node, tmp_path, flag, source, via):
    proc = node(flag)
    oracle = (perf_map_oracle if source == "perf-map" else jitdump_oracle)(proc.jitfile)
    start_, size, name = hot_symbol(oracle)
    hot = start_ + size // 2
    libc, libc_path = libc_address(proc.pid)
    prof = tmp_path / "addrs.pb.gz"
    pprofedit("addrs", prof, hex(hot), hex(libc))
    out = tmp_path / "named.pb.gz"
    if via == "pid":
        r = run_modmap("attach", "--jit", "--pid", proc.pid, prof, "-o", out)
    else:
        snap = tmp_path / f"snap.{via}"
        run_modmap("--pid", proc.pid, "--jit", "-f", via, "-o", snap)
        proc.stop()	# the snapshot alone names the frame
        r = run_modmap("attach", "--jit", "--snapshot", snap, prof, "-o", out)
    assert b"1 named by 1 JIT symbols" in r.stderr, r.stderr
    check_named(out, hot, name, libc, libc_path)
    # Without --jit attach adds no line.
    plain = tmp_path / "plain.pb.gz"
    if via == "pid":
        run_modmap("attach", "--pid", proc.pid, prof, "-o", plain)
        import json
        d = json.loads(pprofedit("dump", plain))
        assert all(not l["Frames"] for l in d["Locations"])


@needs("node")
def test_pprof_snapshot_is_valid_and_names(node, tmp_path):
    """google/pprof reads the snapshot, and sees each symbol as a function."""
    import json
    proc = node("--perf-basic-prof")
    snap = tmp_path / "snap.pb.gz"
    run_modmap("--pid", proc.pid, "--jit", "-f", "pprof", "-o", snap)
    d = json.loads(pprofedit("dump", snap))
    doc = modmap_json("--pid", proc.pid, "--jit")
    named = {(l["Address"], l["Frames"][0]["Function"]) for l in d["Locations"] if l["Frames"]}
    start_, _, name = hot_symbol(perf_map_oracle(proc.jitfile))
    assert (start_, name) in named
    assert len(named) >= len(doc["jit"]) * 0.9  # the process goes on compiling


# ---- hostile files ---------------------------------------------------------

SERVE = r"""
import mmap, os, sys
pid = os.getpid()
pm, jd, d = sys.argv[1], sys.argv[2], sys.argv[3]
if pm != "-":
    os.rename(pm, f"/tmp/perf-{pid}.map")
keep = None
if jd != "-":
    path = os.path.join(d, f"jit-{pid}.dump")
    os.rename(jd, path)
    fd = os.open(path, os.O_RDONLY)
    keep = mmap.mmap(fd, 4096 if os.path.getsize(path) >= 4096 else os.path.getsize(path),
                     prot=mmap.PROT_READ | mmap.PROT_EXEC, flags=mmap.MAP_PRIVATE)
print("ready", pid, flush=True)
sys.stdin.read()
"""


@pytest.fixture
def served(spawn, tmp_path):
    """served(perf_map_bytes, jitdump_bytes): a process whose perf map and
    mapped jitdump are these."""
    made = []

    def _serve(perf_map=None, jitdump=None):
        pm = jd = "-"
        if perf_map is not None:
            pm = tmp_path / "map.in"
            pm.write_bytes(perf_map)
        if jitdump is not None:
            jd = tmp_path / "dump.in"
            jd.write_bytes(jitdump)
        proc = spawn(["/usr/bin/python3", "-c", SERVE, pm, jd, tmp_path])
        made.append(Path(f"/tmp/perf-{proc.pid}.map"))
        return proc
    yield _serve
    for p in made:
        if p.exists():
            p.unlink()


@needs("root", "pid_ns")
def test_perf_map_in_pid_namespace(spawn, tmp_path):
    """A process in its own PID namespace names its perf map by the PID it
    sees (NSpid's last field), not the host's."""
    pm = tmp_path / "map.in"
    pm.write_bytes(b"7000 10 in the namespace\n")
    outer = spawn(["unshare", "--pid", "--fork", "/usr/bin/python3", "-c", SERVE, pm, "-",
                   tmp_path])
    ns_pid = int(outer.ready.split()[1])
    path = Path(f"/tmp/perf-{ns_pid}.map")
    try:
        children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
        assert len(children) == 1, children
        pid = int(children[0])
        assert pid != ns_pid
        nspid = [l for l in Path(f"/proc/{pid}/status").read_text().splitlines()
                 if l.startswith("NSpid:")][0].split()
        assert int(nspid[-1]) == ns_pid
        doc = modmap_json("--pid", pid, "--jit")
        assert [(j["start"], j["name"]) for j in doc["jit"]] == [("0x7000", "in the namespace")]
    finally:
        path.unlink(missing_ok=True)


def peak_rss_kb(args):
    """Runs modmap; its exit status, stdout length and peak RSS in KiB."""
    p = subprocess.Popen([str(MODMAP), *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    n = 0
    while chunk := p.stdout.read(1 << 20):
        n += len(chunk)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, n, ru.ru_maxrss


def jd_header():
    return struct.pack("<IIIIIIQQ", 0x4A695444, 1, 40, 62, 0, 1, 0, 0)


def jd_load(addr, size, name, total=None):
    body = struct.pack("<IIQQQQ", 1, 1, addr, addr, size, 0) + name + b"\0"
    return struct.pack("<IIQ", 0, total if total is not None else 16 + len(body), 0) + body


def test_hostile_perf_map_lines(served):
    m = (b"1000 100 first\n"
         b"garbage\n\n"
         b"0x1080 0x10 later wins\n"
         b"ffffffffffffff00 200 wraps\n"
         b"2000 0 empty\n"
         b"123456789abcdef01 10 seventeen digits\n"
         b"3000 10 " + b"n" * 5000 + b"\n"
         b"4000 10 no newline at the end")
    proc = served(perf_map=m)
    doc = modmap_json("--pid", proc.pid, "--jit")
    got = [(int(j["start"], 16), j["size"], j["name"]) for j in doc["jit"]]
    assert got == [(0x1000, 0x100, "first"), (0x1080, 0x10, "later wins"),
                   (0x3000, 0x10, "n" * 1024), (0x4000, 0x10, "no newline at the end")]


def test_hostile_jitdump(served):
    d = jd_header()
    d += jd_load(0x5000, 0x40, b"good")
    d += jd_load(0x6000, 0xFFFFFFFFFFFFFFFF, b"overflowing size")
    d += struct.pack("<IIQ", 2, 0xFFFFFFF0, 0)	# DEBUG_INFO claiming 4 GiB
    d += jd_load(0x7000, 0x10, b"after the lie")
    proc = served(jitdump=d)
    doc = modmap_json("--pid", proc.pid, "--jit")
    got = [(int(j["start"], 16), j["size"], j["name"], j["source"]) for j in doc["jit"]]
    assert got == [(0x5000, 0x40, "good", "jitdump")]


def jd_load_ix(addr, size, name, index):
    body = struct.pack("<IIQQQQ", 1, 1, addr, addr, size, index) + name + b"\0"
    return struct.pack("<IIQ", 0, 16 + len(body), 0) + body


def jd_move(old, new, size, index):
    """JIT_CODE_MOVE (perf's jitdump-specification.txt): pid, tid, vma,
    old_code_addr, new_code_addr, code_size, code_index."""
    body = struct.pack("<IIQQQQQ", 1, 1, new, old, new, size, index)
    return struct.pack("<IIQ", 1, 16 + len(body), 0) + body


def test_jitdump_move_names_the_code_at_its_new_address(served):
    """A MOVE puts the code at its new address, named as the latest LOAD of
    the same code_index before it; a MOVE of code never loaded names
    nothing. The oracle: the records as written here, read by the rules of
    perf's specification that docs/jit.md states."""
    d = jd_header()
    d += jd_load_ix(0x5000, 0x40, b"first", 7)
    d += jd_load_ix(0x6000, 0x40, b"other", 8)
    d += jd_move(0x5000, 0x8000, 0x40, 7)
    d += jd_load_ix(0x7000, 0x20, b"first again", 7)
    d += jd_move(0x7000, 0x9000, 0x20, 7)
    d += jd_move(0x1000, 0xa000, 0x40, 9)	# code 9 was never loaded
    proc = served(jitdump=d)
    doc = modmap_json("--pid", proc.pid, "--jit")
    got = [(int(j["start"], 16), j["size"], j["name"], j["source"]) for j in doc["jit"]]
    assert got == [(0x5000, 0x40, "first", "jitdump"), (0x6000, 0x40, "other", "jitdump"),
                   (0x7000, 0x20, "first again", "jitdump"),
                   (0x8000, 0x40, "first", "jitdump"),
                   (0x9000, 0x20, "first again", "jitdump")]


def test_truncated_jitdump(served):
    d = jd_header() + jd_load(0x5000, 0x40, b"whole") + jd_load(0x6000, 0x40, b"cut")[:-5]
    proc = served(jitdump=d)
    doc = modmap_json("--pid", proc.pid, "--jit")
    assert [j["name"] for j in doc["jit"]] == ["whole"]
    proc2 = served(jitdump=b"JiTD but not really, and too short")
    assert modmap_json("--pid", proc2.pid, "--jit")["jit"] == []


def test_huge_files_bounded(served, tmp_path):
    """1.2M perf map lines, a 64 MiB line without newline, and 1.2M jitdump
    records: past the bounds they are dropped, and memory stays bounded."""
    n = 1_200_000
    lines = b"".join(b"%x 10 s%d\n" % (0x10000000 + 16 * i, i) for i in range(n))
    lines += b"1 1 " + b"x" * (64 << 20)
    recs = bytearray(jd_header())
    one = jd_load(0, 0x10, b"j")
    for i in range(n):
        recs += one[:16] + struct.pack("<IIQQQQ", 1, 1, 0, 0x90000000 + 16 * i, 0x10, 0) + b"j\0"
    proc = served(perf_map=lines, jitdump=bytes(recs))
    t0 = time.monotonic()
    rc, out_len, rss = peak_rss_kb(["--pid", proc.pid, "--jit", "-f", "json"])
    took = time.monotonic() - t0
    assert rc == 0
    # 2^20 symbols at most, whatever the files hold.
    assert out_len < 200 << 20
    print(f"huge perf map + jitdump: peak RSS {rss // 1024} MiB, {took:.1f}s")
    assert rss < 700 * 1024, f"peak RSS {rss} KiB"
    doc = modmap_json("--pid", proc.pid, "--jit")
    assert len(doc["jit"]) == 1 << 20


# ---- a JVM -------------------------------------------------------------------

HOT_JAVA = """public class Hot {
    static long hotLoop(long n) { long s = 0; for (long i = 0; i < n; i++) { s = (s + i * 7) % 1000003; } return s; }
    public static void main(String[] a) throws Exception {
        long t = 0;
        for (int k = 0; k < 20000; k++) t += hotLoop(10000);
        System.out.println("ready " + t);
        System.out.flush();
        while (true) { t += hotLoop(100000); Thread.sleep(20); }
    }
}
"""


@needs("jdk")
def test_jvm_perf_map(spawn, tmp_path):
    """HotSpot writes its perf map on request (jcmd PID Compiler.perfmap,
    JDK 17+); its hex has 0x and leading zeros."""
    java, jcmd = shutil.which("java"), shutil.which("jcmd")
    (tmp_path / "Hot.java").write_text(HOT_JAVA)
    proc = spawn([java, "Hot.java"], cwd=tmp_path)
    assert proc.ready.startswith("ready"), proc.ready
    path = Path(f"/tmp/perf-{proc.pid}.map")
    try:
        subprocess.run([jcmd, str(proc.pid), "Compiler.perfmap"], check=True,
                       capture_output=True, timeout=60)
        oracle = perf_map_oracle(path)
        hot = [s for s in oracle if s[2] == "long Hot.hotLoop(long)"]
        assert hot, "the JVM compiled no hotLoop"
        doc = modmap_json("--pid", proc.pid, "--jit")
        listed = {(int(j["start"], 16), j["size"], j["name"]) for j in doc["jit"]}
        assert (hot[-1][0], hot[-1][1], hot[-1][2]) in listed
        jits = [m for m in doc["mappings"] if m["file"] == "[jit]"]
        assert any(int(m["start"], 16) <= hot[-1][0] < int(m["limit"], 16) for m in jits)
        # and attach names the frame
        prof, out = tmp_path / "a.pb.gz", tmp_path / "b.pb.gz"
        addr = hot[-1][0] + hot[-1][1] // 2
        libc, libc_path = libc_address(proc.pid)
        pprofedit("addrs", prof, hex(addr), hex(libc))
        run_modmap("attach", "--jit", "--pid", proc.pid, prof, "-o", out)
        check_named(out, addr, hot[-1][2], libc, libc_path)
    finally:
        path.unlink(missing_ok=True)


# ---- latest wins, against a brute-force model --------------------------------

CELL = 0x10
CELLS = 96


def random_records(rng):
    """Perf-map records over CELLS cells, most nested inside an earlier one
    (chains four and more deep), some crossing, some repeating a range."""
    recs = []
    for i in range(rng.randint(4, 28)):
        r = rng.random()
        if recs and r < 0.6:
            ps, pn = rng.choice(recs)
            if pn >= 2:
                s = rng.randrange(ps, ps + pn - 1)
                n = rng.randint(1, ps + pn - s)
            else:
                s, n = ps, pn
        elif recs and r < 0.7:
            s, n = rng.choice(recs)         # the same range again
        else:
            s = rng.randrange(CELLS)
            n = rng.randint(1, CELLS - s)
        recs.append((s, n))
    return recs


def nesting_depth(recs):
    return max(sum(s <= c < s + n for s, n in recs) for c in range(CELLS))


def owner_model(recs):
    """Cell -> index of the record that owns it: the latest covering it."""
    own = {}
    for c in range(CELLS):
        for i in range(len(recs) - 1, -1, -1):
            s, n = recs[i]
            if s <= c < s + n:
                own[c] = i
                break
    return own


def test_latest_record_wins_as_a_brute_force_model_says(spawn, tmp_path):
    """Random perf maps (seeded; the seed is in the failure) with records
    nested up to eight deep over a real executable anonymous region: the
    symbols modmap lists are exactly those that own an address, and attach
    --jit names the first and last byte of every cell as the latest record
    covering it says (google/pprof's parser reads the result)."""
    import json
    import random
    proc = spawn(["/usr/bin/python3", "-c",
                  "import mmap, sys\n"
                  "m = mmap.mmap(-1, 65536, flags=mmap.MAP_PRIVATE,\n"
                  "              prot=mmap.PROT_READ | mmap.PROT_EXEC)\n"
                  "print('ready', flush=True)\nsys.stdin.read()\n"])
    region = [m for m in proc_maps(proc.pid)
              if m["perms"] == "r-xp" and not m["name"] and m["limit"] - m["start"] >= 65536]
    assert region, "the executable region is not mapped"
    base = region[0]["start"]
    perf_map = Path(f"/tmp/perf-{proc.pid}.map")
    prof = tmp_path / "addrs.pb.gz"
    addrs = [base + c * CELL + off for c in range(CELLS) for off in (0, CELL - 1)]
    addrs.append(base + CELLS * CELL)  # one past every record
    pprofedit("addrs", prof, *map(hex, addrs))
    deepest = 0
    try:
        for seed in range(60):
            rng = random.Random(seed)
            recs = random_records(rng)
            deepest = max(deepest, nesting_depth(recs))
            perf_map.write_text("".join(f"{base + s * CELL:x} {n * CELL:x} sym{i}\n"
                                        for i, (s, n) in enumerate(recs)))
            own = owner_model(recs)
            live = sorted(set(own.values()), key=lambda i: (recs[i][0], i))
            doc = modmap_json("--pid", proc.pid, "--jit")
            got = [(int(j["start"], 16), j["size"], j["name"]) for j in doc["jit"]]
            want = [(base + recs[i][0] * CELL, recs[i][1] * CELL, f"sym{i}") for i in live]
            assert got == want, f"seed {seed}: records {recs}"
            out = tmp_path / f"named-{seed}.pb.gz"
            run_modmap("attach", "--jit", "--pid", proc.pid, prof, "-o", out)
            d = json.loads(pprofedit("dump", out))
            names = {l["Address"]: [f["Function"] for f in l["Frames"] or []]
                     for l in d["Locations"]}
            for a in addrs:
                c = (a - base) // CELL
                want_name = [f"sym{own[c]}"] if c in own else []
                assert names[a] == want_name, \
                    f"seed {seed}: {a - base:#x} named {names[a]}, not {want_name}; records {recs}"
    finally:
        perf_map.unlink(missing_ok=True)
    assert deepest >= 6, f"the records nest only {deepest} deep"


def jd_debug(code, entries):
    """JIT_CODE_DEBUG_INFO: code_addr, nr_entry, then per entry addr,
    lineno, discrim and a NUL-terminated file name ("\\xff": the same as
    the entry before)."""
    body = struct.pack("<QQ", code, len(entries))
    for addr, line, name in entries:
        body += struct.pack("<QII", addr, line, 0) + name + b"\0"
    return struct.pack("<IIQ", 2, 16 + len(body), 0) + body


# A runtime in miniature: an executable anonymous region for its code, and
# the jitdump the test writes, mapped executable as perf wants it.
CODE_AND_DUMP = r"""
import mmap, os, sys
code = mmap.mmap(-1, 65536, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_EXEC)
print("ready", flush=True)
src = sys.stdin.readline().strip()
path = os.path.join(os.path.dirname(src), f"jit-{os.getpid()}.dump")
os.rename(src, path)
fd = os.open(path, os.O_RDONLY)
dump = mmap.mmap(fd, os.path.getsize(path), flags=mmap.MAP_PRIVATE,
                 prot=mmap.PROT_READ | mmap.PROT_EXEC)
print("mapped", flush=True)
sys.stdin.read()
"""


def test_jitdump_debug_info_names_file_and_line(spawn, tmp_path):
    """attach --jit gives each location in a jitdump symbol the source line
    of the debug entry at or before its address, in a function named as
    the symbol with its file; a file name that is not printable text (a
    control character) is given as no file, the lines kept. The oracle: the records written here; google/pprof's parser
    (pprofedit) reads the result."""
    import json
    proc = spawn(["/usr/bin/python3", "-c", CODE_AND_DUMP])
    region = [m for m in proc_maps(proc.pid) if m["perms"] == "r-xp" and not m["name"]
              and m["limit"] - m["start"] >= 65536]
    assert region
    base = region[0]["start"]
    d = jd_header()
    d += jd_debug(base, [(base, 10, b"good.js"), (base + 0x10, 11, b"\xff"),
                         (base + 0x20, 12, b"\xff")])
    d += jd_load_ix(base, 0x40, b"fn", 1)
    d += jd_debug(base + 0x100, [(base + 0x100, 20, b"bad\x01name.js")])
    d += jd_load_ix(base + 0x100, 0x40, b"badfn", 2)
    src = tmp_path / "dump.in"
    src.write_bytes(d)
    proc.popen.stdin.write(f"{src}\n".encode())
    proc.popen.stdin.flush()
    assert proc.popen.stdout.readline().strip() == b"mapped"
    prof = tmp_path / "addrs.pb.gz"
    offsets = [0, 0x18, 0x20, 0x3f, 0x100, 0x13f]
    pprofedit("addrs", prof, *(hex(base + o) for o in offsets))
    out = tmp_path / "named.pb.gz"
    run_modmap("attach", "--jit", "--pid", proc.pid, prof, "-o", out)
    dumped = json.loads(pprofedit("dump", out))
    got = {l["Address"] - base: [(f["Function"], f["File"], f["Line"]) for f in l["Frames"] or []]
           for l in dumped["Locations"]}
    assert got == {0: [("fn", "good.js", 10)], 0x18: [("fn", "good.js", 11)],
                   0x20: [("fn", "good.js", 12)], 0x3f: [("fn", "good.js", 12)],
                   0x100: [("badfn", "", 20)], 0x13f: [("badfn", "", 20)]}, got


def _pb_varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _pb(number, value):
    """One protobuf field: an int (varint) or bytes (length-delimited)."""
    if isinstance(value, int):
        return _pb_varint(number << 3) + _pb_varint(value)
    return _pb_varint(number << 3 | 2) + _pb_varint(len(value)) + value


def test_saved_jit_symbol_without_a_function_is_dropped(tmp_path):
    """A pprof snapshot (any profile is accepted as one) whose jit_size
    sample sits at a location without a function: attach --jit drops that
    symbol and names the others; no crash. The snapshot is written here
    byte by byte (profile.proto), the result read by google/pprof's parser."""
    import json
    strings = [b"", b"mappings", b"count", b"/x", b"jit_size", b"good"]
    snap = (_pb(1, _pb(1, 1) + _pb(2, 2))
            + _pb(3, _pb(1, 1) + _pb(2, 0x1000) + _pb(3, 0x2000) + _pb(5, 3))
            + _pb(4, _pb(1, 1) + _pb(3, 0x5000))                       # no line
            + _pb(4, _pb(1, 2) + _pb(3, 0x6000) + _pb(4, _pb(1, 1)))    # line: function 1
            + _pb(5, _pb(1, 1) + _pb(2, 5))
            + _pb(2, _pb(1, _pb_varint(1)) + _pb(2, _pb_varint(1)) + _pb(3, _pb(1, 4) + _pb(3, 16)))
            + _pb(2, _pb(1, _pb_varint(2)) + _pb(2, _pb_varint(1)) + _pb(3, _pb(1, 4) + _pb(3, 16)))
            + b"".join(_pb(6, s) for s in strings))
    src = tmp_path / "snap.pb"
    src.write_bytes(snap)
    prof = tmp_path / "addrs.pb.gz"
    pprofedit("addrs", prof, hex(0x5008), hex(0x6008))
    out = tmp_path / "named.pb.gz"
    p = run_modmap("attach", "--jit", "--snapshot", src, prof, "-o", out)
    d = json.loads(pprofedit("dump", out))
    names = {l["Address"]: [f["Function"] for f in l["Frames"] or []] for l in d["Locations"]}
    assert names == {0x5008: [], 0x6008: ["good"]}, (names, p.stderr)
