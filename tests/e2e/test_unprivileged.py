"""An ordinary user's view: no CAP_SYS_ADMIN, so /proc/PID/map_files is
refused, yet the build IDs of their own processes must be those root gets.
Where the mapped file is gone (deleted, replaced), modmap reads the module's
note from the process's memory, as eu-unstrip -n -p does; both are checked
against readelf -n of the original files, kept aside before deletion.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import FIXTURES, MODMAP, start, unprivileged_prefix, needs


def readelf_build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def eu_unstrip_ids(prefix, pid):
    """{module start address: build ID} as eu-unstrip reads them from the
    process's memory, run as the same user."""
    if not shutil.which("eu-unstrip"):
        pytest.skip("eu-unstrip (elfutils) is not installed")
    out = subprocess.run([*prefix, "eu-unstrip", "-n", "-p", str(pid)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    ids = {}
    for line in out.splitlines():
        fields = line.split()
        ids[int(fields[0].split("+")[0], 16)] = fields[1].split("@")[0]
    return ids


@pytest.fixture
def deleted_target():
    """idmapper and a library it dlopens, run as the test user from copies
    that are then deleted; yields (prefix, proc, exe, lib, kept ids)."""
    prefix = unprivileged_prefix()
    d = Path(tempfile.mkdtemp(prefix="modmap-unpriv-"))
    proc = None
    try:
        d.chmod(0o755)
        exe, lib = d / "idmapper", d / "lib.so"
        shutil.copy(FIXTURES / "idmapper", exe)
        shutil.copy(FIXTURES / "libfix-md5.so", lib)
        want = {"exe": readelf_build_id(exe), "lib": readelf_build_id(lib)}
        proc = start([*prefix, exe, lib])
        exe.unlink()
        lib.unlink()
        yield prefix, proc, exe, lib, want
    finally:
        if proc:
            proc.stop()
        shutil.rmtree(d)


@pytest.mark.parametrize("source", ["maps", pytest.param("query", marks=needs("procmap_query")), "auto"])
@pytest.mark.parametrize("mode", ["auto", "native"])
@needs("yama_off")   # the test user reads its own process's memory, capless
def test_ordinary_user_gets_roots_build_ids(deleted_target, source, mode):
    prefix, proc, exe, lib, want = deleted_target
    argv = [MODMAP, "--pid", proc.pid, "--source", source, "--build-id", mode,
            "--format", "json"]
    argv = [str(a) for a in argv]
    user = subprocess.run([*prefix, *argv], capture_output=True, timeout=60)
    assert user.returncode == 0, user.stderr
    root = subprocess.run(argv, capture_output=True, timeout=60, check=True)
    mine = json.loads(user.stdout)["mappings"]
    # map_files is refused to this user: no privilege is helping.
    first = next(m for m in mine if m["file"] == str(lib))
    probe = subprocess.run([*prefix, "head", "-c", "1",
                            f"/proc/{proc.pid}/map_files/{first['start'][2:]}-"
                            f"{first['limit'][2:]}"], capture_output=True)
    assert probe.returncode != 0
    unstrip = eu_unstrip_ids(prefix, proc.pid)
    for key, path in (("exe", exe), ("lib", lib)):
        ours = [m for m in mine if m["file"] == str(path)]
        assert ours and all(m["deleted"] for m in ours), path
        for m in ours:
            assert m["build_id_kind"] == "gnu", m
            assert m["build_id"] == want[key], m
        assert want[key] in unstrip.values()
    # The same as root's, record for record.
    assert [(m["start"], m["build_id"]) for m in mine] == \
        [(m["start"], m["build_id"]) for m in json.loads(root.stdout)["mappings"]]
