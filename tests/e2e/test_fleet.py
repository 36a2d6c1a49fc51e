"""What an agent on every host needs: which container a process is in and
its PID there, and --all as a stream whose memory does not grow with the
number of processes.

The oracles: /proc/PID/status, /proc/PID/cgroup and /proc/PID/comm read
here, the cgroup the test itself made, and the PID namespace it made.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import MODMAP, cbor_whole, need, run_modmap, wait_asleep, needs


def cgroup2_mount():
    """Where cgroup v2 is mounted (/sys/fs/cgroup or .../unified), or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return Path(left.split()[4])
    return None


def children(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


@pytest.fixture
def container():
    """`sleep` as PID 1 of its own PID namespace, in a Docker-style cgroup:
    (host PID, container ID, cgroup path). Removed afterwards."""
    need("root", "cgroup2")   # a new PID namespace, and a cgroup of its own
    mnt = cgroup2_mount()
    cid = secrets.token_hex(32)
    rel = f"/modmap-test.slice/docker-{cid}.scope"
    group = mnt / rel.lstrip("/")
    try:
        group.mkdir(parents=True)
    except OSError as e:
        pytest.skip(f"cannot create a cgroup under {mnt}: {e.strerror}")
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                              "sleep", "600"])
    inner = None
    try:
        deadline = time.monotonic() + 10
        while not children(outer.pid):
            assert time.monotonic() < deadline, "unshare never started its child"
            time.sleep(0.01)
        inner = children(outer.pid)[0]
        wait_asleep(inner)
        (group / "cgroup.procs").write_text(str(inner))
        yield inner, cid, rel
    finally:
        if inner:
            os.kill(inner, signal.SIGKILL)
        outer.send_signal(signal.SIGKILL)
        outer.wait(timeout=10)
        # The cgroup empties once the killed process is gone.
        deadline = time.monotonic() + 10
        for d in (group, group.parent):
            while d.exists():
                try:
                    d.rmdir()
                except OSError:
                    assert time.monotonic() < deadline, f"cannot remove {d}"
                    time.sleep(0.05)


def kernel_identity(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    nspid = next(l for l in status.splitlines() if l.startswith("NSpid:")).split()[1:]
    cgroup = next(l.split(":", 2)[2] for l in
                  Path(f"/proc/{pid}/cgroup").read_text().splitlines()
                  if l.startswith("0::"))
    return {"comm": Path(f"/proc/{pid}/comm").read_text().rstrip("\n"),
            "ns_pid": int(nspid[-1]), "cgroup": cgroup}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "cbor"])
def test_identity_of_a_process_in_a_container(container, fmt, tmp_path):
    pid, cid, rel = container
    kernel = kernel_identity(pid)
    assert kernel == {"comm": "sleep", "ns_pid": 1, "cgroup": rel}
    if fmt == "cbor":
        cbor2 = pytest.importorskip("cbor2")
        out = tmp_path / "s.cbor"
        run_modmap("--pid", pid, "-f", "cbor", "-o", out)
        doc = cbor_whole(out.read_bytes())
    else:
        doc = json.loads(run_modmap("--pid", pid, "-f", fmt).stdout)
    assert doc["pid"] == pid
    assert {k: doc[k] for k in ("comm", "ns_pid", "cgroup")} == kernel
    assert doc["container_id"] == cid


def test_identity_in_text_and_pprof(container, tmp_path, pprofcheck):
    from conftest import go_parse
    pid, cid, rel = container
    lines = run_modmap("--pid", pid).stdout.decode().splitlines()
    assert lines[1] == f"comm=sleep ns_pid=1 container_id={cid} cgroup={rel}"
    out = tmp_path / "s.pb.gz"
    run_modmap("--pid", pid, "-f", "pprof", "-o", out)
    comments = go_parse(pprofcheck, out)["Comments"]
    assert f"modmap: comm=sleep ns_pid=1 container_id={cid} cgroup={rel}".encode() in comments


def test_identity_outside_containers(sleeper):
    doc = json.loads(run_modmap("--pid", sleeper.pid, "-f", "json").stdout)
    kernel = kernel_identity(sleeper.pid)
    assert {k: doc[k] for k in ("comm", "ns_pid", "cgroup")} == kernel
    assert doc["ns_pid"] == sleeper.pid == kernel["ns_pid"]


def test_jsonl_is_one_process_a_line(spawn):
    procs = [spawn(["sleep", "600"], ready_line=False) for _ in range(20)]
    for p in procs:
        wait_asleep(p.pid)
    out = run_modmap("--all", "-f", "jsonl").stdout.decode()
    assert out.endswith("\n")
    lines = out.splitlines()
    docs = [json.loads(l) for l in lines]     # every line a whole object
    assert all(isinstance(d, dict) and "mappings" in d for d in docs)
    by_pid = {d["pid"]: d for d in docs}
    assert len(by_pid) == len(docs)
    for p in procs:
        d = by_pid[p.pid]
        assert d["comm"] == "sleep"
        assert d["exe"] == os.readlink(f"/proc/{p.pid}/exe")
        # The kernel's executable, named mappings, in order.
        with open(f"/proc/{p.pid}/maps") as f:
            kernel = [l.split()[0] for l in f if len(l.split()) > 5 and "x" in l.split()[1]]
        assert [f"{int(m['start'], 16):x}-{int(m['limit'], 16):x}"
                for m in d["mappings"]] == kernel


def peak_kib(*args):
    p = subprocess.run(["/usr/bin/time", "-f", "%M", str(MODMAP), *map(str, args)],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return int(p.stderr.decode().strip().splitlines()[-1])


@needs("uninstrumented")   # ASan's shadow memory is not modmap's
def test_all_jsonl_memory_is_flat_in_the_number_of_processes(tmp_path):
    """100 processes and then 1,000: the stream holds one at a time. (The
    whole JSON document grows by megabytes here, which shows the test can
    tell the two apart.)"""
    if not shutil.which("/usr/bin/time"):
        pytest.skip("needs /usr/bin/time (Debian package time)")
    peaks = {}
    extra = []
    try:
        for count in (100, 1000):
            while len(extra) < count:
                extra.append(subprocess.Popen(["sleep", "300"]))
            for p in extra:
                wait_asleep(p.pid)
            peaks[count] = (peak_kib("--all", "-f", "jsonl", "-o", os.devnull),
                            peak_kib("--all", "-f", "json", "-o", os.devnull))
    finally:
        for p in extra:
            p.kill()
        for p in extra:
            p.wait(timeout=30)
    jsonl_growth = peaks[1000][0] - peaks[100][0]
    json_growth = peaks[1000][1] - peaks[100][1]
    assert jsonl_growth < 1024, peaks          # under 1 MiB for 900 more processes
    assert json_growth > 4 * 1024, peaks       # the whole document does grow


def test_all_holds_no_descriptor_past_its_process(spawn):
    """An agent reads every process of a host in one run: what modmap opens
    for one process is closed before the next. With 32 descriptors
    allowed and 100 more processes than that, --all reads each one the
    kernel lists (a leak of one descriptor a process would stop it with
    EMFILE a third of the way in)."""
    import resource
    procs = [spawn(["sleep", "300"], ready_line=False) for _ in range(100)]
    for p in procs:
        wait_asleep(p.pid)

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
    p = subprocess.run([str(MODMAP), "--all", "-f", "jsonl"], capture_output=True,
                       preexec_fn=few_descriptors, timeout=300)
    assert b"Too many open files" not in p.stderr, p.stderr[-2000:]
    assert p.returncode in (0, 1), p.stderr[-2000:]
    pids = {json.loads(l)["pid"] for l in p.stdout.splitlines()}
    assert {q.pid for q in procs} <= pids


def test_jsonl_to_a_file_is_atomic_and_nothing_for_nothing(tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_text("old\n" * 10000)
    run_modmap("--self", "-f", "jsonl", "-o", out)
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["comm"] == "modmap"
    gone = tmp_path / "none.jsonl"
    p = run_modmap("--pid", "4194304", "-f", "jsonl", "-o", gone, check=False)
    assert p.returncode == 1 and not gone.exists()
    assert os.listdir(tmp_path) == ["o.jsonl"]
