"""The trust boundary, file-system half (SPEC "Trust", docs/security.md).

root's modmap runs over processes and directories an ordinary user
controls. In each test the attacker is a real ordinary user (conftest's
`attacker`, made with useradd, run through setpriv without capabilities)
who plants what a hostile user can plant: symbolic links at every
component of a path, FIFOs, devices, hard links, files that claim another
file's build ID, sparse files. Each test names the defect of issue 24 it
guards, and checks what a user cares about with the kernel's own view
(os.stat, st_blocks, cmp, /proc/kallsyms read by the test): nothing is
written outside what root asked for, nothing root-only is read, no copy is
more readable than its source, no hole becomes data, nothing hangs.
"""
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, MODMAP, need, needs, start, wait_asleep

pytestmark = needs("root")   # root's modmap is what is attacked

SECRET = b"root's secret: do not overwrite\n"


def modmap(*args, timeout=60, prefix=()):
    """modmap, bounded in time: a FIFO it opened would block it."""
    return subprocess.run([*prefix, str(MODMAP), *map(str, args)], capture_output=True,
                          timeout=timeout)


def gnu_build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, f"{path}: readelf -n shows no build ID"
    return m.group(1)


@pytest.fixture
def root_only(tmp_path):
    """A directory only root may enter, holding a file only root may read:
    what the attacker's links point at."""
    d = tmp_path / "root-only"
    d.mkdir(mode=0o700)
    d.chmod(0o700)
    secret = d / "secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    return d


def give(user, src, dest):
    """A copy of src at dest, the user's (the user may not be able to read
    the build tree, which may sit in root's home)."""
    shutil.copy2(src, dest)
    os.chown(dest, user.uid, user.gid)
    return dest


def entries(d):
    return sorted(p.name for p in Path(d).iterdir())


def one_line_naming(err, what):
    lines = err.decode(errors="replace").splitlines()
    assert len(lines) == 1 and lines[0].startswith("modmap: ") and str(what) in lines[0], lines
    return lines[0]


# ---- defect 1: -o follows what another user planted ---------------------------

@pytest.mark.parametrize("where", ["file", "component", "new-file-in-linked-dir", "chain"])
def test_output_never_follows_another_users_link(attacker, shared_dir, root_only, where):
    """Defect 1: a link the attacker planted, as the output file itself,
    as a directory on its path, or as a chain of links, is not followed:
    /root's secret stays as it was and no file appears in root's
    directory."""
    if where == "file":
        attacker.run("ln", "-s", root_only / "secret", shared_dir / "out.json")
        out = shared_dir / "out.json"
    elif where == "component":
        attacker.run("ln", "-s", root_only, shared_dir / "d")
        out = shared_dir / "d" / "secret"
    elif where == "new-file-in-linked-dir":
        attacker.run("ln", "-s", root_only, shared_dir / "d")
        out = shared_dir / "d" / "new.json"
    else:
        attacker.run("ln", "-s", "b", shared_dir / "a")
        attacker.run("ln", "-s", root_only / "secret", shared_dir / "b")
        out = shared_dir / "a"
    p = modmap("--self", "-f", "json", "-o", out)
    assert p.returncode == 1, p.stderr
    line = one_line_naming(p.stderr, out)
    assert "symbolic link" in line, line
    assert (root_only / "secret").read_bytes() == SECRET
    assert entries(root_only) == ["secret"]


def test_output_follows_a_link_the_caller_owns(tmp_path):
    """Defect 1, the other side: root's own link is followed, and the file
    it names is replaced (SPEC: -o through a link replaces its file)."""
    target = tmp_path / "real.json"
    target.write_text("old")
    (tmp_path / "link.json").symlink_to(target)
    p = modmap("--self", "-f", "json", "-o", tmp_path / "link.json")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "link.json").is_symlink()
    assert target.read_text().startswith("{")


def test_output_replaces_no_file_another_user_owns_in_a_sticky_dir(attacker, shared_dir):
    """Defect 1: a regular file the attacker made in a sticky directory is
    not replaced by root's output (fs.protected_regular's rule), whose
    mode the attacker would choose."""
    out = shared_dir / "out.json"
    attacker.sh(f"printf mine > {out}; chmod 666 {out}")
    p = modmap("--self", "-f", "json", "-o", out)
    assert p.returncode == 1, p.stderr
    one_line_naming(p.stderr, out)
    assert out.read_bytes() == b"mine"
    assert out.stat().st_uid == attacker.uid


def test_output_into_another_users_fifo_is_refused(attacker, shared_dir):
    """Defect 1: a FIFO the attacker made in a sticky directory, with the
    attacker reading it, gets nothing of root's output."""
    fifo = shared_dir / "out.json"
    attacker.run("mkfifo", "-m", "666", fifo)
    got, ready = shared_dir / "got", shared_dir / "ready"
    # Held open read-write, the FIFO has a reader before modmap comes.
    reader = subprocess.Popen([*attacker.prefix, "sh", "-c",
                               f"exec 3<>{fifo}; touch {ready}; exec cat <&3 > {got}"])
    for _ in range(1000):
        if ready.exists():
            break
        time.sleep(0.01)
    try:
        p = modmap("--self", "-f", "json", "-o", fifo, timeout=30)
        assert p.returncode == 1, p.stderr
        line = one_line_naming(p.stderr, fifo)
        assert "a FIFO owned by another user" in line, line
    finally:
        reader.kill()
        reader.wait()
    assert not got.exists() or got.read_bytes() == b""


def test_output_fifo_without_a_reader_does_not_hang(tmp_path):
    """Defect 1: root's own FIFO with nobody reading: a clear error at
    once, not a wait forever (and one with a reader is written in place)."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    p = modmap("--self", "-f", "json", "-o", fifo, timeout=30)
    assert time.monotonic() - t0 < 10
    assert p.returncode == 1, p.stderr
    line = one_line_naming(p.stderr, fifo)
    assert "no reader" in line, line
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    # the reader opens the FIFO first, else modmap would find none
    for _ in range(500):
        if any(os.path.realpath(f"/proc/{reader.pid}/fd/{fd}") == str(fifo)
               for fd in os.listdir(f"/proc/{reader.pid}/fd")):
            break
        time.sleep(0.01)
    p = modmap("--self", "-f", "json", "-o", fifo, timeout=30)
    data = reader.communicate(timeout=30)[0]
    assert p.returncode == 0, p.stderr
    assert data.startswith(b"{"), data[:40]


@pytest.fixture
def loop_device(tmp_path):
    """A loop block device over a root-only file of zeros: writing to the
    device changes the file."""
    backing = tmp_path / "backing"
    backing.write_bytes(bytes(1 << 20))
    backing.chmod(0o600)
    p = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True,
                       text=True)
    if p.returncode != 0:
        pytest.fail(f"losetup cannot attach a loop device: {p.stderr.strip()}")
    dev = p.stdout.strip()
    yield dev, backing
    subprocess.run(["losetup", "-d", dev], check=False)


@pytest.mark.parametrize("how", ["device-in-attackers-dir", "link-to-device"])
def test_output_into_a_block_device_the_attacker_placed(attacker, shared_dir, loop_device,
                                                        how):
    """Defect 1: root's output is not written into a block device that sits
    where the attacker can put it: a node root made in a directory the
    attacker owns (the attacker can rename it into place), or the
    attacker's link to /dev/loopN."""
    dev, backing = loop_device
    own = shared_dir / "attackers"
    attacker.run("mkdir", own)
    out = own / "out.json"
    if how == "device-in-attackers-dir":
        st = os.stat(dev)
        os.mknod(out, 0o600 | stat.S_IFBLK, st.st_rdev)
    else:
        attacker.run("ln", "-s", dev, out)
    p = modmap("--self", "-f", "json", "-o", out, timeout=30)
    assert p.returncode == 1, p.stderr
    one_line_naming(p.stderr, out)
    assert backing.read_bytes() == bytes(1 << 20), "root's output reached the device"


# ---- defect 2: collect writes through links planted in its directory ---------

@pytest.fixture
def keys_lib(attacker, shared_dir, spawn):
    """The attacker's process, mapping a library named authorized_keys
    (libfix.so renamed): collect would write DIR/<its id>/authorized_keys."""
    own = shared_dir / "lib"
    attacker.run("mkdir", own)
    lib = own / "authorized_keys"
    give(attacker, FIXTURES / "libfix.so", lib)
    give(attacker, FIXTURES / "mapper", own / "mapper")
    proc = spawn([*attacker.prefix, own / "mapper", f"load:{lib}"])
    proc.bid = gnu_build_id(lib)
    return proc


@pytest.mark.parametrize("where", ["id-dir", "build-id-dir", "build-id-xx", "store-itself",
                                   "store-component", "attackers-id-dir"])
def test_collect_writes_nothing_through_planted_links(attacker, shared_dir, root_only,
                                                      keys_lib, where):
    """Defect 2: with the store in a sticky shared directory, the attacker's
    link at DIR/<id>, DIR/.build-id, DIR/.build-id/xx, DIR itself or a
    directory above it, or a directory of the attacker's at DIR/<id>: root
    writes nothing into root's directory nor into the attacker's, and says
    why."""
    bid = keys_lib.bid
    store = shared_dir / "store"
    if where == "store-itself":
        attacker.run("ln", "-s", root_only, store)
    elif where == "store-component":
        attacker.run("ln", "-s", root_only, shared_dir / "up")
        store = shared_dir / "up" / "store"
    else:
        store.mkdir()
        store.chmod(0o1777)
        if where == "id-dir":
            attacker.run("ln", "-s", root_only, store / bid)
        elif where == "build-id-dir":
            attacker.run("ln", "-s", root_only, store / ".build-id")
        elif where == "build-id-xx":
            attacker.run("mkdir", "-m", "755", store / ".build-id")
            attacker.run("ln", "-s", root_only, store / ".build-id" / bid[:2])
        else:
            attacker.run("mkdir", "-m", "755", store / bid)
    p = modmap("collect", "--pid", keys_lib.pid, "-o", store)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert entries(root_only) == ["secret"], "root wrote into root's directory"
    assert (root_only / "secret").read_bytes() == SECRET
    assert not (shared_dir / "store" / bid / "authorized_keys").exists() \
        or where not in ("attackers-id-dir",)
    if where == "attackers-id-dir":
        assert entries(store / bid) == [], "root wrote into the attacker's directory"
    assert re.search(r"symbolic link|owned by", err), err


@pytest.mark.parametrize("mode,owner", [(0o777, "root"), (0o775, "root"), (0o755, "attacker")])
def test_collect_refuses_a_store_others_can_rewrite(attacker, shared_dir, keys_lib, mode,
                                                   owner):
    """Defect 2: a store directory another user may write (world- or
    group-writable and not sticky, or owned by that user) is refused with
    the reason, and nothing is written into it."""
    store = shared_dir / "store"
    if owner == "root":
        store.mkdir()
        store.chmod(mode)
    else:
        attacker.run("mkdir", "-m", oct(mode)[2:], store)
    p = modmap("collect", "--pid", keys_lib.pid, "-o", store)
    assert p.returncode == 1, p.stderr
    line = p.stderr.decode().splitlines()[0]
    assert line.startswith(f"modmap: {store}: "), line
    assert "may write it" in line or "owned by another user" in line, line
    assert entries(store) == []


def test_collect_into_a_sticky_shared_store_works(shared_dir, keys_lib):
    """Defect 2, the other side: a sticky shared store (1777, like /tmp)
    is fine; what root makes in it is root's."""
    store = shared_dir / "store"
    store.mkdir()
    store.chmod(0o1777)
    p = modmap("collect", "--pid", keys_lib.pid, "-o", store)
    assert p.returncode == 0, p.stderr
    copy = store / keys_lib.bid / "authorized_keys"
    subprocess.run(["cmp", str(FIXTURES / "libfix.so"), str(copy)], check=True)
    assert (store / keys_lib.bid).stat().st_uid == 0


# ---- defect 5: a copy is no more readable than its source --------------------

@pytest.mark.parametrize("mode", [0o600, 0o711, 0o755, 0o640])
def test_copy_mode_is_at_most_the_sources(attacker, shared_dir, tmp_path, spawn, mode):
    """Defect 5: a library of mode 0600 or a binary of 0711 is not made
    readable to others by being collected: the copy's mode is the
    source's, at most 0644, and the attacker cannot read it."""
    d = tmp_path / "bin"
    d.mkdir()
    lib = d / "libfix.so"
    shutil.copy2(FIXTURES / "libfix.so", lib)
    lib.chmod(mode)
    proc = spawn([FIXTURES / "mapper", f"load:{lib}"])
    store = shared_dir / "store"
    p = modmap("collect", "--pid", proc.pid, "-o", store)
    assert p.returncode == 0, p.stderr
    copy = store / gnu_build_id(lib) / "libfix.so"
    assert stat.S_IMODE(copy.stat().st_mode) == mode & 0o644
    readable = attacker.run("cat", copy, check=False).returncode == 0
    assert readable == bool(mode & 0o004)


# ---- defect 6: sparse files -----------------------------------------------------

def sparse_copy_of(lib, dest, size):
    shutil.copy2(lib, dest)
    with open(dest, "r+b") as f:
        f.truncate(size)
    return dest


def test_holes_stay_holes(tmp_path, spawn):
    """Defect 6: a 300 MB library that is almost all hole takes on disk
    what its data takes, not 300 MB, and its bytes are the same."""
    lib = sparse_copy_of(FIXTURES / "libfix.so", tmp_path / "libsparse.so", 300 << 20)
    src_blocks = lib.stat().st_blocks
    proc = spawn([FIXTURES / "mapper", f"load:{lib}"])
    store = tmp_path / "store"
    p = modmap("collect", "--pid", proc.pid, "-o", store, "--max-file-size", "1G")
    assert p.returncode == 0, p.stderr
    copy = store / gnu_build_id(lib) / "libsparse.so"
    assert copy.stat().st_size == 300 << 20
    assert copy.stat().st_blocks <= src_blocks + 128, \
        f"{copy.stat().st_blocks * 512} bytes on disk for {src_blocks * 512} of data"
    subprocess.run(["cmp", str(lib), str(copy)], check=True)


def test_max_total_bounds_a_run(tmp_path, spawn):
    """Defect 6: --max-total bounds the bytes one run writes: what would
    pass it is skipped and named, and the store holds no more."""
    libs = [FIXTURES / "libfix.so", FIXTURES / "libfix-md5.so"]
    proc = spawn([FIXTURES / "mapper", *(f"load:{l}" for l in libs)])
    store = tmp_path / "store"
    limit = sum(f.stat().st_size for f in [FIXTURES / "mapper", *libs]) - 1
    p = modmap("collect", "--pid", proc.pid, "-o", store, "--max-total", str(limit))
    err = p.stderr.decode()
    assert p.returncode == 1, err
    kept = sum(f.stat().st_size for f in store.rglob("*")
               if f.is_file() and not f.is_symlink() and f.stat().st_nlink >= 1
               and f.parent.parent == store)
    assert 0 < kept <= limit, (kept, limit)
    assert "over the total limit" in err, err
    assert "--max-total" in err, err


def test_max_total_is_in_the_help():
    """Defect 6: the option is documented where users look."""
    p = modmap("collect", "--help")
    assert b"--max-total" in p.stdout
    assert b"--max-total" in Path(__file__).resolve().parents[2].joinpath(
        "docs/modmap.1").read_bytes().replace(b"\\-", b"-")


# ---- defect 7: the first file to claim a build ID wins -----------------------

def libc_path(pid):
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        f = line.split()
        if len(f) >= 6 and f[5].endswith("/libc.so.6"):
            return Path(f[5])
    raise AssertionError("no libc mapped")


@pytest.fixture
def fake_libc(attacker, shared_dir, spawn):
    """The attacker's static program mapping a libc.so.6 of its own making
    that carries the real libc's build ID (libfix.so with its note's bytes
    replaced)."""
    sleeper = spawn(["sleep", "600"], ready_line=False)
    wait_asleep(sleeper.pid)
    real = libc_path(sleeper.pid)
    bid = gnu_build_id(real)
    fix = FIXTURES / "libfix.so"
    data = bytearray(fix.read_bytes())
    old = bytes.fromhex(gnu_build_id(fix))
    assert len(old) == len(bytes.fromhex(bid)) and data.count(old) == 1
    data[data.index(old):data.index(old) + len(old)] = bytes.fromhex(bid)
    own = shared_dir / "fake"
    attacker.run("mkdir", own)
    fake = own / "libc.so.6"
    tmp = shared_dir / "fake.tmp"
    tmp.write_bytes(bytes(data))
    tmp.chmod(0o644)
    give(attacker, tmp, fake)
    give(attacker, FIXTURES / "idmapper-static", own / "idmapper")
    assert gnu_build_id(fake) == bid
    proc = spawn([*attacker.prefix, own / "idmapper", "--mmap", fake])
    return proc, sleeper, real, fake, bid


def test_roots_file_replaces_a_users_claim(fake_libc, tmp_path):
    """Defect 7: the attacker's file was kept first; the root-owned libc
    with the same build ID replaces it (in both layouts), and the
    conflict is named."""
    proc, sleeper, real, fake, bid = fake_libc
    store = tmp_path / "store"
    p = modmap("collect", "--pid", proc.pid, "-o", store)
    assert p.returncode == 0, p.stderr
    p = modmap("collect", "--pid", sleeper.pid, "-o", store)
    err = p.stderr.decode()
    for copy in (store / bid / "libc.so.6", store / ".build-id" / bid[:2] / bid[2:]):
        assert subprocess.run(["cmp", str(real), str(copy)]).returncode == 0, copy
    assert re.search(rf"{re.escape(str(real))}: build ID {bid} already kept with other "
                     r"contents", err), err


def test_a_users_claim_does_not_replace_roots_file(fake_libc, tmp_path):
    """Defect 7: root's libc is kept; the attacker's file claiming its
    build ID is named as a conflict and not kept, in one run or later."""
    proc, sleeper, real, fake, bid = fake_libc
    store = tmp_path / "store"
    p = modmap("collect", "--pid", sleeper.pid, "-o", store)
    assert p.returncode == 0, p.stderr
    p = modmap("collect", "--pid", proc.pid, "-o", store)
    err = p.stderr.decode()
    assert subprocess.run(["cmp", str(real), str(store / bid / "libc.so.6")]).returncode == 0
    assert re.search(rf"{re.escape(str(fake))}: build ID {bid} already kept with other "
                     r"contents", err), err
    store2 = tmp_path / "store2"
    p = modmap("collect", "--pid", proc.pid, "--pid", sleeper.pid, "-o", store2)
    assert subprocess.run(["cmp", str(real), str(store2 / bid / "libc.so.6")]).returncode == 0


# ---- defect 15: lookup --snapshot opens a path before checking it ------------

def test_lookup_snapshot_opens_no_fifo_at_a_mapped_path(tmp_path, spawn):
    """Defect 15: where the snapshot's library was, a FIFO now sits, a
    writer waiting on it: lookup does not open it (the writer stays
    blocked, as an opened device would have acted)."""
    d = tmp_path / "lib"
    d.mkdir()
    lib = d / "libfix.so"
    shutil.copy2(FIXTURES / "libfix.so", lib)
    proc = spawn([FIXTURES / "mapper", f"load:{lib}"])
    snap = tmp_path / "snap.pb.gz"
    p = modmap("--pid", proc.pid, "-f", "pprof", "-o", snap)
    assert p.returncode == 0, p.stderr
    addr = next(l.split("-")[0] for l in Path(f"/proc/{proc.pid}/maps").read_text().splitlines()
                if l.endswith(str(lib)) and "x" in l.split()[1])
    proc.stop()
    lib.unlink()
    os.mkfifo(lib)
    opened = tmp_path / "opened"
    writer = subprocess.Popen(["sh", "-c", f"exec 3>{lib}; touch {opened}; sleep 600"])
    try:
        p = modmap("lookup", "--snapshot", snap, "-f", "json", addr, timeout=30)
        time.sleep(0.5)
        assert not opened.exists(), "lookup opened the FIFO at the mapping's path"
        assert p.returncode == 0, p.stderr
    finally:
        writer.kill()
        writer.wait()


# ---- defect 4: --jit follows links in the perf map's path --------------------

def kernel_addresses():
    """A few real kernel addresses, as root reads them in /proc/kallsyms."""
    addrs = []
    with open("/proc/kallsyms") as f:
        for line in f:
            a = line.split()[0]
            if int(a, 16):
                addrs.append(a.lstrip("0"))
            if len(addrs) >= 50:
                break
    if not addrs:
        pytest.fail("/proc/kallsyms shows root no addresses (kptr_restrict 2?)")
    return addrs


@pytest.fixture
def perf_map_of(attacker):
    """perf_map_of(pid): /tmp/perf-PID.map, removed after the test."""
    made = []

    def _path(pid):
        made.append(Path(f"/tmp/perf-{pid}.map"))
        return made[-1]

    yield _path
    for p in made:
        if p.is_symlink() or p.exists():
            p.unlink()


@pytest.mark.parametrize("what", ["kallsyms", "root-only-file", "another-users-file"])
def test_jit_reads_no_perf_map_it_should_not(attacker, victim, shared_dir, perf_map_of,
                                             spawn, what):
    """Defect 4: the attacker's /tmp/perf-PID.map is a link to /proc/kallsyms
    or to a root-only file in perf-map form, or another user's file left
    at that name (a stale map of an earlier process with the PID): root's
    modmap --jit shows none of their lines and no kernel address."""
    proc = spawn([*attacker.prefix, "sleep", "600"], ready_line=False)
    wait_asleep(proc.pid)
    pm = perf_map_of(proc.pid)
    holder = shared_dir.parent / "files"
    holder.mkdir(mode=0o755)
    secret = holder / "secret.map"
    secret.write_text("dead0000 10 root_only_symbol\n")
    secret.chmod(0o600)
    if what == "kallsyms":
        attacker.run("ln", "-s", "/proc/kallsyms", pm)
    elif what == "root-only-file":
        attacker.run("ln", "-s", secret, pm)
    else:
        victim.sh(f"printf 'dead0000 10 root_only_symbol\\n' > {pm}; chmod 600 {pm}")
    p = modmap("--pid", proc.pid, "--jit", "-f", "json", timeout=30)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "root_only_symbol" not in out
    assert '"perf-map"' not in out, out[:2000]
    low = out.lower()
    assert not [a for a in kernel_addresses() if a in low], "kernel addresses in the output"


def test_jit_reads_the_users_own_perf_map(attacker, perf_map_of, spawn):
    """Defect 4, the other side: the process's own perf map, a regular file
    its user owns, is read."""
    proc = spawn([*attacker.prefix, "sleep", "600"], ready_line=False)
    wait_asleep(proc.pid)
    pm = perf_map_of(proc.pid)
    attacker.sh(f"printf 'dead0000 10 own_symbol\\n' > {pm}")
    p = modmap("--pid", proc.pid, "--jit", "-f", "json", timeout=30)
    assert p.returncode == 0, p.stderr
    assert b'"own_symbol"' in p.stdout


@needs("userns")
@pytest.mark.parametrize("what", ["kallsyms", "root-only-file"])
def test_jit_reads_no_perf_map_mounted_over(attacker, shared_dir, spawn, perf_map_of, what):
    """Defect 4: in its own user and mount namespace the attacker binds
    /proc/kallsyms, or a root-only file, over its /tmp/perf-PID.map (no
    link to refuse, owned by root): root's modmap sees the mount (and
    procfs) and reads nothing."""
    holder = shared_dir.parent / "files"
    holder.mkdir(mode=0o755)
    secret = holder / "secret.map"
    secret.write_text("dead0000 10 root_only_symbol\n")
    secret.chmod(0o600)
    src = "/proc/kallsyms" if what == "kallsyms" else secret
    proc = spawn([*attacker.prefix, "unshare", "-Urm", "--fork", "sh", "-ec",
                  "touch /tmp/perf-$$.map; "
                  f"mount --bind {src} /tmp/perf-$$.map; echo ready; exec sleep 600"])
    kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(kids) == 1, kids
    perf_map_of(kids[0])    # the attacker's empty file, in /tmp outside its namespace
    p = modmap("--pid", kids[0], "--jit", "-f", "json", timeout=30)
    assert p.returncode == 0, p.stderr
    low = p.stdout.decode().lower()
    assert '"perf-map"' not in low
    assert "root_only_symbol" not in low
    assert not [a for a in kernel_addresses() if a in low], "kernel addresses in the output"


# ---- defect 3: --procfs checks only DIR's own file system ---------------------

@needs("userns")
def test_procfs_pid_dir_mounted_over_is_refused(attacker, shared_dir, spawn, sleeper):
    """Defect 3: in its own namespaces the attacker mounts a tmpfs over
    /proc/1 of its own proc mount, with a maps naming a root-only 0711
    binary and root a link to /: root's collect --procfs of that proc
    mount refuses it and copies nothing."""
    base = shared_dir.parent
    bindir = base / "rootbin"
    bindir.mkdir(mode=0o755)
    secret_bin = bindir / "secret-tool"
    shutil.copy2(FIXTURES / "mapper", secret_bin)
    secret_bin.chmod(0o711)
    st = secret_bin.stat()
    fake = shared_dir / "fake"
    fake.mkdir(mode=0o755)
    size = (st.st_size + 4095) // 4096 * 4096
    (fake / "maps").write_text(
        f"00400000-{0x400000 + size:08x} r-xp 00000000 {os.major(st.st_dev):02x}:"
        f"{os.minor(st.st_dev):02x} {st.st_ino}                    {secret_bin}\n")
    (fake / "stat").write_text(Path(f"/proc/{sleeper.pid}/stat").read_text())
    (fake / "status").write_text(Path(f"/proc/{sleeper.pid}/status").read_text())
    (fake / "comm").write_text("sleep\n")
    for f in fake.iterdir():
        f.chmod(0o644)
    proc = spawn([*attacker.prefix, "unshare", "-Urm", "--fork", "--pid", "--mount-proc",
                  "sh", "-ec",
                  f"mount -t tmpfs t /proc/1; cp {fake}/* /proc/1/; ln -s / /proc/1/root; "
                  f"ln -s {secret_bin} /proc/1/exe; echo ready; exec sleep 600"])
    kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(kids) == 1, kids
    procfs = f"/proc/{kids[0]}/root/proc"
    store = shared_dir / "store"
    p = modmap("collect", "--procfs", procfs, "--pid", "1", "-o", store, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert not [f for f in store.rglob("*") if f.is_file()], "copied through a fake /proc"
    assert "proc filesystem" in err, err
