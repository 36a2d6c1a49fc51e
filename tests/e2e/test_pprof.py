"""--format pprof, read back by the real consumers.

The oracle is the kernel: /proc/PID/maps parsed here with Go's selection
rule, /proc/PID/exe for the main executable, readelf for build IDs; each
profile is decoded by google/pprof's parser and protoc and compared with
that. Modmap's JSON for the same process is compared too, as an extra
check. The decoders: protoc against google/pprof's profile.proto (Debian's
golang-github-google-pprof-dev), google/pprof's own Go parser
(profile.Parse then CheckValid, tests/e2e/pprofcheck), and
`go tool pprof -raw` (Debian's golang-go). The Go parts build in GOPATH
mode from /usr/share/gocode with the network off.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import GOCODE, go_env, go_parse, need, proc_maps, run_modmap, wait_asleep

PROTO = GOCODE / "src/github.com/google/pprof/proto/profile.proto"


def raw_bytes(s):
    """A JSON string from modmap back to the bytes it stands for."""
    return s.encode("utf-8", "surrogateescape")


def expected_order(doc):
    """JSON's records as pprof must hold them: main executable first."""
    maps = doc["mappings"]
    return [m for m in maps if m["main"]] + [m for m in maps if not m["main"]]


def key(m):
    return (int(m["start"], 16), int(m["limit"], 16), int(m["offset"], 16),
            raw_bytes(m["file"]), raw_bytes(m["build_id"]))


def snapshot_both(pid, tmp_path):
    """The JSON document and a pprof file of the same process."""
    doc = json.loads(run_modmap("--pid", pid, "--format", "json").stdout)
    path = tmp_path / "maps.pb.gz"
    before = time.time_ns()
    run_modmap("--pid", pid, "--format", "pprof", "-o", path)
    after = time.time_ns()
    return doc, path, (before, after)


# ---- protoc -------------------------------------------------------------

def unescape(lit):
    """A protobuf text-format string literal (C escapes) to bytes."""
    out = bytearray()
    i = 0
    simple = {"n": 10, "r": 13, "t": 9, '"': 34, "'": 39, "\\": 92,
              "a": 7, "b": 8, "f": 12, "v": 11, "?": 63}
    while i < len(lit):
        c = lit[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif lit[i + 1] in simple:
            out.append(simple[lit[i + 1]])
            i += 2
        elif lit[i + 1] == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", lit[i + 2:])
            out.append(int(m.group(), 16))
            i += 2 + len(m.group())
        else:
            m = re.match(r"[0-7]{1,3}", lit[i + 1:])
            out.append(int(m.group(), 8))
            i += 1 + len(m.group())
    return bytes(out)


def protoc_decode(data):
    """Decodes a raw Profile with protoc; returns {field: [values]}, where
    a nested message is itself such a dict and a string is bytes."""
    p = subprocess.run(["protoc", f"-I{PROTO.parent}", "--decode=perftools.profiles.Profile",
                        PROTO.name], input=data, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    root = {}
    stack = [root]
    for line in p.stdout.decode().splitlines():
        line = line.strip()
        if line.endswith("{"):
            msg = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(msg)
            stack.append(msg)
        elif line == "}":
            stack.pop()
        else:
            name, value = line.split(": ", 1)
            value = unescape(value[1:-1]) if value.startswith('"') else int(value)
            stack[-1].setdefault(name, []).append(value)
    assert stack == [root]
    return root


def test_protoc_decodes_mapping_table(sleeper, tmp_path):
    doc, path, (before, after) = snapshot_both(sleeper.pid, tmp_path)
    data = path.read_bytes()
    assert data[:2] == b"\x1f\x8b", "not gzip-compressed"
    prof = protoc_decode(gzip.decompress(data))
    strings = prof["string_table"]
    assert strings[0] == b""
    assert len(set(strings)) == len(strings), "string table holds duplicates"

    want = expected_order(doc)
    maps = prof["mapping"]
    assert [m["id"][0] for m in maps] == list(range(1, len(want) + 1))
    got = [(m.get("memory_start", [0])[0], m.get("memory_limit", [0])[0],
            m.get("file_offset", [0])[0], strings[m.get("filename", [0])[0]],
            strings[m.get("build_id", [0])[0]]) for m in maps]
    assert got == [key(m) for m in want]
    for m in maps:
        for flag in ("has_functions", "has_filenames", "has_line_numbers",
                     "has_inline_frames"):
            assert flag not in m

    assert before <= prof["time_nanos"][0] <= after
    comments = [strings[i] for i in prof["comment"]]
    exe = raw_bytes(doc["exe"])
    assert comments[0] == b"modmap: pid %d (linux) %s" % (sleeper.pid, exe)
    # The decision docs/formats.md describes: a "mappings"/"count" sample
    # of 1 per mapping, at a location in that mapping.
    st = prof["sample_type"][0]
    assert (strings[st["type"][0]], strings[st["unit"][0]]) == (b"mappings", b"count")
    assert len(prof["sample"]) == len(maps)
    assert "function" not in prof


# ---- google/pprof's parser ---------------------------------------------

# ---- against the kernel ----------------------------------------------------

def readelf_build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                         timeout=60).stdout
    ids = [line.split("Build ID:")[1].strip() for line in out.splitlines()
           if "Build ID:" in line]
    return ids[0] if ids else None


def kernel_table(pid):
    """What the pprof table must be, from /proc alone: Go's rule over
    /proc/PID/maps (an executable line that names something), the main
    executable's (/proc/PID/exe) lines first, each in the kernel's order."""
    exe = os.readlink(f"/proc/{pid}/exe")
    keep = [k for k in proc_maps(pid) if k["perms"][2] == "x" and k["name"]]
    main = [k for k in keep if k["name"] == exe]
    assert main, f"no mapping of {exe} in /proc/{pid}/maps"
    return main + [k for k in keep if k["name"] != exe], exe


def check_against_kernel(pid, tmp_path, pprofcheck):
    want, exe = kernel_table(pid)
    path = tmp_path / "maps.pb.gz"
    run_modmap("--pid", pid, "--format", "pprof", "-o", path)
    r = go_parse(pprofcheck, path)  # also: each location inside its mapping
    assert r["Valid"] == ""
    got = [(m["Start"], m["Limit"], m["Offset"], m["File"]) for m in r["Mappings"]]
    assert got == [(k["start"], k["limit"], k["offset"], k["name"].encode()) for k in want]
    assert [m["ID"] for m in r["Mappings"]] == list(range(1, len(want) + 1))
    for m in r["Mappings"]:
        if m["File"].startswith(b"/"):
            assert m["BuildID"].decode() == readelf_build_id(m["File"]), m["File"]
    # One location per mapping, inside it, and one sample of 1 on each.
    assert [(loc["ID"], loc["MappingID"]) for loc in r["Locations"]] == \
        [(i, i) for i in range(1, len(want) + 1)]
    assert r["SampleMaps"] == list(range(1, len(want) + 1))
    # protoc reads the same table.
    prof = protoc_decode(gzip.decompress(path.read_bytes()))
    strings = prof["string_table"]
    assert strings[0] == b""
    assert [(m.get("memory_start", [0])[0], m.get("memory_limit", [0])[0],
             m.get("file_offset", [0])[0], strings[m.get("filename", [0])[0]])
            for m in prof["mapping"]] == got
    for loc in prof["location"]:
        m = prof["mapping"][loc["mapping_id"][0] - 1]
        assert m["memory_start"][0] <= loc["address"][0] < m["memory_limit"][0]
    return want, exe


def test_pprof_matches_the_kernel(sleeper, tmp_path, pprofcheck):
    check_against_kernel(sleeper.pid, tmp_path, pprofcheck)


def test_main_executable_first_when_the_os_lists_it_later(spawn, tmp_path, pprofcheck):
    """sleep run through the dynamic loader: the loader is the executable,
    mapped above sleep and libc, so the kernel lists it late."""
    loader = os.path.realpath("/lib64/ld-linux-x86-64.so.2")
    if not os.path.exists(loader):
        pytest.skip("no /lib64/ld-linux-x86-64.so.2 to run a program through")
    proc = spawn([loader, "/bin/sleep", "600"], ready_line=False)
    wait_asleep(proc.pid)
    keep = [k for k in proc_maps(proc.pid) if k["perms"][2] == "x" and k["name"]]
    assert keep[0]["name"] != loader, "the kernel listed the loader first: nothing to reorder"
    want, exe = check_against_kernel(proc.pid, tmp_path, pprofcheck)
    assert exe == loader and want[0]["name"] == loader


def test_google_pprof_parser_accepts(sleeper, tmp_path, pprofcheck):
    doc, path, (before, after) = snapshot_both(sleeper.pid, tmp_path)
    r = go_parse(pprofcheck, path)
    assert r["Valid"] == ""
    want = expected_order(doc)
    got = [(m["Start"], m["Limit"], m["Offset"], m["File"], m["BuildID"])
           for m in r["Mappings"]]
    assert got == [key(m) for m in want]
    assert [m["ID"] for m in r["Mappings"]] == list(range(1, len(want) + 1))
    assert not any(m["HasFunctions"] or m["HasFilenames"] or m["HasLineNumbers"]
                   or m["HasInlineFrames"] for m in r["Mappings"])
    assert before <= r["TimeNanos"] <= after
    assert r["Comments"][0].startswith(b"modmap: pid %d (linux) " % sleeper.pid)
    assert r["SampleTypes"] == ["mappings/count"]
    assert r["PeriodType"] == "mappings/count" and r["Period"] == 1
    assert r["Samples"] == [[1]] * len(want)
    assert r["SampleMaps"] == list(range(1, len(want) + 1))
    # The main executable's mappings lead.
    nmain = sum(m["main"] for m in doc["mappings"])
    assert nmain >= 1
    assert all(m["File"] == raw_bytes(doc["exe"]) for m in r["Mappings"][:nmain])


def test_non_utf8_path_survives(spawn, tmp_path, pprofcheck):
    """A main executable whose path is not UTF-8: pprof holds its bytes."""
    exe = os.path.join(os.fsencode(tmp_path), b"sl\xffe\x80p")
    shutil.copy("/bin/sleep", exe)
    proc = spawn([os.fsdecode(exe), "600"], ready_line=False)
    wait_asleep(proc.pid)
    doc, path, _ = snapshot_both(proc.pid, tmp_path)
    assert raw_bytes(doc["exe"]) == exe
    r = go_parse(pprofcheck, path)
    assert r["Valid"] == ""
    assert r["Mappings"][0]["File"] == exe
    assert [(m["Start"], m["Limit"], m["Offset"], m["File"], m["BuildID"])
            for m in r["Mappings"]] == [key(m) for m in expected_order(doc)]
    # The comment is for people: escaped as the text header is (issue 24,
    # defect 12); the mapping table above keeps the bytes.
    shown = os.path.join(os.fsencode(tmp_path), b"sl\\xffe\\x80p")
    assert r["Comments"][0] == b"modmap: pid %d (linux) %s" % (proc.pid, shown)


# ---- go tool pprof -------------------------------------------------------

def test_go_tool_pprof_raw_lists_every_mapping(sleeper, tmp_path):
    need("go")
    doc, path, _ = snapshot_both(sleeper.pid, tmp_path)
    p = subprocess.run(["go", "tool", "pprof", "-raw", "-symbolize=none", str(path)],
                       capture_output=True, env=go_env(), timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    out = p.stdout.decode("utf-8", "surrogateescape")
    listed = out.split("\nMappings\n", 1)[1].splitlines()
    # profile.String: "ID: 0xSTART/0xLIMIT/0xOFFSET FILE BUILDID FLAGS"
    want = ["%d: %#x/%#x/%#x %s %s " % (i, int(m["start"], 16), int(m["limit"], 16),
                                        int(m["offset"], 16), m["file"], m["build_id"])
            for i, m in enumerate(expected_order(doc), 1)]
    assert listed == want
    assert f"Comment: modmap: pid {sleeper.pid} (linux) {doc['exe']}\n" in out


# ---- refusals --------------------------------------------------------------

def gone_pid():
    """A PID that names no process (for showing nothing was read)."""
    pid = 4194000
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid


@pytest.mark.parametrize("args", [
    ["--pid", "SLEEPER", "--pid", "GONE"],
    ["--all"],
])
def test_several_processes_refused(sleeper, tmp_path, args):
    args = [{"SLEEPER": str(sleeper.pid), "GONE": str(gone_pid())}.get(a, a)
            for a in args]
    out = tmp_path / "x.pb.gz"
    p = run_modmap(*args, "--format", "pprof", "-o", out, check=False)
    assert p.returncode == 2
    err = p.stderr.decode()
    assert "a pprof profile holds one process" in err
    assert "no such process" not in err, "refused only after reading"
    assert err.startswith("modmap: ")
    assert not out.exists()
    assert p.stdout == b""


def test_one_process_twice_is_several(sleeper, tmp_path):
    p = run_modmap("--pid", sleeper.pid, "--pid", sleeper.pid, "--format", "pprof",
                   "-o", tmp_path / "x", check=False)
    assert p.returncode == 2
