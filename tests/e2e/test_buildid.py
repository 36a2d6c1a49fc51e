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
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, MODMAP, modmap_json, run_modmap

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
    argv = [*prefix, exe or FIXTURES / "mapper"]
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
        main = by_file(maps, FIXTURES / "mapper")
        assert main["build_id"] == readelf_build_id(FIXTURES / "mapper")


def test_other_modes(spawn):
    lib = FIXTURES / "libfix.so"
    proc = start_mapper(spawn, lib)
    m = by_file(mappings(proc.pid, "--build-id", "none"), lib)
    assert m["build_id"] == "" and m["build_id_kind"] == "none"
    m = by_file(mappings(proc.pid, "--build-id", "mtime"), lib)
    assert m["build_id_kind"] == "path-mtime"
    assert is_path_mtime(m["build_id"], lib)


def test_32bit(spawn):
    """A 32-bit process, and a 32-bit library mapped by a 64-bit one."""
    lib32 = FIXTURES / "libfix32.so"
    proc = start_mapper(spawn, lib32, exe=FIXTURES / "mapper32")
    maps = mappings(proc.pid)
    assert by_file(maps, FIXTURES / "mapper32")["build_id"] == \
        readelf_build_id(FIXTURES / "mapper32")
    assert by_file(maps, lib32)["build_id"] == readelf_build_id(lib32)
    proc64 = start_mapper(spawn, lib32, mmap=True)
    m = by_file(mappings(proc64.pid), lib32)
    assert m["build_id"] == eu_readelf_build_id(lib32)
    assert m["build_id_kind"] == "gnu"


