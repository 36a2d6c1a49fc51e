"""--procfs DIR: processes read through a proc filesystem mounted elsewhere
(a host's /proc in a sidecar at /host/proc).

The oracles: the kernel's own /proc/PID/maps parsed here, a second mount
of proc the test makes, and a PID namespace the test makes (whose only
process is PID 1 there).
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import MODMAP, as_int, go_parse, proc_maps, run_modmap, wait_asleep, need


def exec_maps(pid):
    """What --mappings exec keeps, from the kernel's text: (start, limit, offset, file)."""
    out = []
    for m in proc_maps(pid):
        name = m["name"]
        if "x" not in m["perms"] or not name or (m["inode"] == 0 and not name.startswith("[")):
            continue
        if name.endswith(" (deleted)"):
            name = name[:-len(" (deleted)")]
        out.append((m["start"], m["limit"], m["offset"], name))
    return out


def records(doc):
    return [(as_int(m["start"]), as_int(m["limit"]), as_int(m["offset"]), m["file"])
            for m in doc["mappings"]]


def without_time(doc):
    return {k: v for k, v in doc.items() if k != "time"}


@pytest.fixture
def second_proc(tmp_path):
    """A second mount of proc, unmounted afterwards."""
    need("root")   # mounting a second proc
    where = tmp_path / "proc"
    where.mkdir()
    p = subprocess.run(["mount", "-t", "proc", "proc", str(where)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount proc: {p.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def pid_namespace():
    """`sleep` as PID 1 of its own PID namespace with its own /proc: its host PID."""
    need("root")   # a new PID namespace
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1) from util-linux")
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                              "sleep", "600"])
    inner = None
    try:
        deadline = time.monotonic() + 10
        while inner is None:
            kids = open(f"/proc/{outer.pid}/task/{outer.pid}/children").read().split()
            if kids:
                inner = int(kids[0])
            else:
                assert outer.poll() is None, f"unshare exited {outer.returncode}"
                assert time.monotonic() < deadline, "unshare never started its child"
                time.sleep(0.01)
        wait_asleep(inner)
        # --mount-proc mounts the namespace's proc before exec: it is there now.
        yield inner
    finally:
        if inner:
            os.kill(inner, signal.SIGKILL)
        outer.send_signal(signal.SIGKILL)
        outer.wait(timeout=10)


def test_second_mount_of_proc_gives_the_same_records(second_proc, sleeper):
    pid = sleeper.pid
    via = json.loads(run_modmap("--procfs", second_proc, "--pid", pid, "-f", "json").stdout)
    plain = json.loads(run_modmap("--pid", pid, "-f", "json").stdout)
    assert without_time(via) == without_time(plain)
    assert records(via) == exec_maps(pid)
    assert via["comm"] == "sleep"


def test_second_mount_all_lists_the_processes(second_proc, sleeper):
    out = run_modmap("--procfs", second_proc, "--all", "-f", "jsonl").stdout.decode()
    pids = [json.loads(line)["pid"] for line in out.splitlines()]
    assert sleeper.pid in pids
    assert pids == sorted(pids)


def test_the_namespaces_own_proc(pid_namespace):
    host = pid_namespace
    ns_proc = f"/proc/{host}/root/proc"
    doc = json.loads(run_modmap("--procfs", ns_proc, "--pid", 1, "-f", "json").stdout)
    assert doc["pid"] == 1
    assert doc["ns_pid"] == 1
    assert doc["comm"] == "sleep"
    assert records(doc) == exec_maps(host)
    # Its main executable, opened through DIR/1/root, has the same ID as on the host.
    host_doc = json.loads(run_modmap("--pid", host, "-f", "json").stdout)
    assert [m["build_id"] for m in doc["mappings"]] == \
        [m["build_id"] for m in host_doc["mappings"]]
    assert any(m["build_id_kind"] == "gnu" for m in doc["mappings"])



def test_self_reads_modmap_through_its_own_proc(pid_namespace):
    # modmap's PID is not the namespace's: --self ignores --procfs.
    doc = json.loads(run_modmap("--procfs", f"/proc/{pid_namespace}/root/proc", "--self",
                                "-f", "json").stdout)
    assert doc["exe"] == str(MODMAP.resolve())
    assert doc["comm"] == "modmap"


def test_a_plain_directory_is_refused(tmp_path):
    p = run_modmap("--procfs", tmp_path, "--pid", 1, check=False)
    assert p.returncode == 2
    lines = p.stderr.decode().splitlines()
    # A usage error: what is wrong, then where the help is (README).
    assert len(lines) == 2 and lines[1] == "Try 'modmap --help'.", lines
    assert str(tmp_path) in lines[0] and "not a proc filesystem" in lines[0]
    assert p.stdout == b""


def test_a_missing_directory_is_refused(tmp_path):
    p = run_modmap("--procfs", tmp_path / "nope", "--all", check=False)
    assert p.returncode == 2
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 2 and str(tmp_path / "nope") in lines[0], lines


def test_all_lists_the_pids_of_that_procfs():
    """A namespace holding PID 1 and PID N, where N is no PID of ours: --all
    through its proc lists exactly those two."""
    need("root")   # a new PID namespace
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1) from util-linux")
    n = 54321
    while os.path.exists(f"/proc/{n}"):
        n += 1
    outer = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
         f"echo {n - 1} > /proc/sys/kernel/ns_last_pid; sleep 600 & exec sleep 600"])
    try:
        deadline = time.monotonic() + 10
        ns_proc = None
        while True:
            kids = open(f"/proc/{outer.pid}/task/{outer.pid}/children").read().split()
            if kids:
                ns_proc = f"/proc/{kids[0]}/root/proc"
                try:
                    if os.path.exists(f"{ns_proc}/{n}") and \
                            open(f"{ns_proc}/1/comm").read() == "sleep\n":
                        break
                except OSError:
                    pass
            assert outer.poll() is None, f"unshare exited {outer.returncode}"
            assert time.monotonic() < deadline, "the namespace never held PIDs 1 and N"
            time.sleep(0.01)
        assert not os.path.exists(f"/proc/{n}"), "PID N appeared outside meanwhile"
        out = run_modmap("--procfs", ns_proc, "--all", "-f", "jsonl").stdout.decode()
        assert [json.loads(line)["pid"] for line in out.splitlines()] == [1, n]
    finally:
        outer.send_signal(signal.SIGKILL)
        outer.wait(timeout=10)


def test_watch_through_the_namespaces_proc():
    """watch --procfs: PID 2 of a namespace followed by its PID there, its
    end seen while the namespace (and its proc) lives on."""
    need("root")   # a new PID namespace
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1) from util-linux")
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                              "sh", "-c", "sleep 600 & wait; exec sleep 600"])
    w = None
    try:
        deadline = time.monotonic() + 10
        sleep_pid = None
        while sleep_pid is None:
            kids = open(f"/proc/{outer.pid}/task/{outer.pid}/children").read().split()
            if kids:
                sh = int(kids[0])
                grand = open(f"/proc/{sh}/task/{sh}/children").read().split()
                if grand:
                    sleep_pid = int(grand[0])
            assert outer.poll() is None, f"unshare exited {outer.returncode}"
            assert time.monotonic() < deadline, "the namespace never started sleep"
            if sleep_pid is None:
                time.sleep(0.01)
        wait_asleep(sleep_pid)
        ns_proc = f"/proc/{sh}/root/proc"
        assert open(f"{ns_proc}/2/comm").read() == "sleep\n"
        w = subprocess.Popen([str(MODMAP), "watch", "--procfs", ns_proc, "--pid", "2",
                              "--interval", "20ms"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        want = exec_maps(sleep_pid)
        got = []
        for _ in want:
            ev = json.loads(w.stdout.readline())
            assert ev["event"] == "load" and ev["pid"] == 2
            got.append((as_int(ev["start"]), as_int(ev["limit"]), as_int(ev["offset"]),
                        ev["file"]))
        assert got == want
        os.kill(sleep_pid, signal.SIGKILL)
        ev = json.loads(w.stdout.readline())
        assert ev["event"] == "exit" and ev["pid"] == 2, w.stderr.read()
        assert w.wait(timeout=10) == 0
    finally:
        if w is not None:
            if w.poll() is None:
                w.kill()
            w.wait()
        outer.send_signal(signal.SIGKILL)
        outer.wait(timeout=10)


def test_collect_and_attach_through_the_namespaces_proc(pid_namespace, pprofcheck, tmp_path):
    host = pid_namespace
    ns_proc = f"/proc/{host}/root/proc"
    exe = os.path.realpath(f"/proc/{host}/exe")
    out = subprocess.run(["readelf", "-n", exe], capture_output=True, text=True).stdout
    bid = out.split("Build ID: ")[1].split()[0] if "Build ID: " in out else None
    if bid is None:
        pytest.skip(f"{exe} has no GNU build ID (readelf -n)")
    run_modmap("collect", "--procfs", ns_proc, "--pid", 1, "-o", tmp_path / "bin")
    kept = tmp_path / "bin" / bid / os.path.basename(exe)
    assert kept.read_bytes() == open(exe, "rb").read()

    # attach --pid 1 through it: the profile gets sleep's mappings.
    prof = tmp_path / "ns.pb.gz"
    run_modmap("--procfs", ns_proc, "--pid", 1, "-f", "pprof", "-o", prof)
    out = tmp_path / "out.pb.gz"
    run_modmap("attach", "--procfs", ns_proc, "--pid", 1, prof, "-o", out)
    # google/pprof's parser reads the kernel's mappings of sleep (its host
    # PID's maps, parsed here) and their build IDs (readelf) in the result.
    got = go_parse(pprofcheck, out)["Mappings"]
    assert [(m["Start"], m["Limit"], m["Offset"], m["File"].decode()) for m in got] == \
        exec_maps(host)
    main = [m for m in got if m["File"].decode() == exe]
    assert main and all(m["BuildID"].decode() == bid for m in main)
    # An extra check beside it: the same as attach through the host's /proc.
    host_prof = tmp_path / "host.pb.gz"
    run_modmap("attach", "--pid", host, prof, "-o", host_prof)
    assert out.read_bytes() == host_prof.read_bytes()
    p = run_modmap("attach", "--procfs", tmp_path, "--pid", 1, prof, check=False)
    assert p.returncode == 2 and "not a proc filesystem" in p.stderr.decode()


def test_lookup_through_the_namespaces_proc(pid_namespace):
    host = pid_namespace
    ns_proc = f"/proc/{host}/root/proc"
    exe = os.path.realpath(f"/proc/{host}/exe")
    start, limit, offset, name = next(m for m in exec_maps(host) if m[3] == exe)
    addr = start + 0x10
    p = run_modmap("lookup", "--procfs", ns_proc, "--pid", 1, "-f", "json", hex(addr))
    (a,) = json.loads(p.stdout)
    assert a["mapped"] is True and a["file"] == exe
    assert as_int(a["file_offset"]) == addr - start + offset
    # readelf -l: the link-time address of that file offset.
    assert as_int(a["elf_vaddr"]) == load_vaddr(exe, addr - start + offset)
    # An extra check beside it: the same answer as through the host's /proc.
    host_answer = json.loads(run_modmap("lookup", "--pid", host, "-f", "json",
                                        hex(addr)).stdout)
    assert [a] == host_answer
    p = run_modmap("lookup", "--procfs", "/", "--pid", 1, hex(addr), check=False)
    assert p.returncode == 2 and "/: not a proc filesystem" in p.stderr.decode()


def load_vaddr(path, off):
    """readelf -lW: the link-time address of file offset off (the PT_LOAD
    whose file bytes hold it), or None."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            p_off, p_vaddr, p_filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if p_off <= off < p_off + p_filesz:
                return p_vaddr + off - p_off
    return None


def readelf_bid(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return out.split("Build ID: ")[1].split()[0]


def test_files_reachable_only_through_the_targets_own_root(tmp_path):
    """A process in its own mount and PID namespaces, chrooted on a tmpfs
    only its namespace has: its files are reachable only through
    DIR/1/root of its own proc. lookup gives elf_vaddr as readelf -l says,
    collect keeps both files byte for byte (cmp, readelf -n)."""
    need("root", "mount_ns", "chroot")
    from conftest import FIXTURES
    root = tmp_path / "root"
    root.mkdir()
    script = (f"set -e; mount -t tmpfs -o size=16m modmap-test {root}; "
              f"cp {FIXTURES / 'idmapper-static'} {root}/mapper; "
              f"cp {FIXTURES / 'libfix.so'} {root}/lib.so; "
              f"mkdir {root}/proc; mount -t proc proc {root}/proc; "
              f"exec chroot {root} /mapper --mmap /lib.so")
    outer = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--pid",
                              "--fork", "--kill-child", "sh", "-c", script],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert outer.stdout.readline().startswith(b"ready"), "the chrooted mapper never started"
        (host,) = map(int, open(f"/proc/{outer.pid}/task/{outer.pid}/children").read().split())
        assert not (root / "lib.so").exists(), "the tmpfs is visible outside its namespace"
        ns_proc = f"/proc/{host}/root/proc"
        # The kernel names them as this process's root sees the path.
        files = {f"{root}/mapper": FIXTURES / "idmapper-static",
                 f"{root}/lib.so": FIXTURES / "libfix.so"}
        addrs = {}
        for m in proc_maps(host):
            if m["name"] in files and "x" in m["perms"] and m["name"] not in addrs:
                addrs[m["name"]] = (m["start"] + 0x10, m["offset"] + 0x10)
        assert sorted(addrs) == sorted(files), proc_maps(host)
        p = run_modmap("lookup", "--procfs", ns_proc, "--pid", 1, "-f", "json",
                       *(hex(a) for a, _ in addrs.values()))
        answers = json.loads(p.stdout)
        for (name, (addr, off)), a in zip(addrs.items(), answers):
            assert a["file"] == name and as_int(a["file_offset"]) == off, a
            want = load_vaddr(files[name], off)
            assert want is not None
            assert "elf_vaddr" in a and as_int(a["elf_vaddr"]) == want, (name, a, hex(want))
        out = tmp_path / "bin"
        p = run_modmap("collect", "--procfs", ns_proc, "--pid", 1, "-o", out)
        for name, orig in files.items():
            kept = out / readelf_bid(orig) / os.path.basename(name)
            assert kept.is_file(), f"{name} not kept: {p.stderr.decode()}"
            assert kept.read_bytes() == orig.read_bytes()
            assert readelf_bid(kept) == readelf_bid(orig)
    finally:
        outer.send_signal(signal.SIGKILL)
        outer.wait(timeout=10)
