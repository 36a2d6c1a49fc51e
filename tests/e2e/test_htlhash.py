"""--build-id htlhash: the OpenTelemetry file ID of every mapped file
(process.executable.build_id.htlhash: SHA-256 over the first 4096 bytes,
the last 4096 bytes and the big-endian 64-bit length; the first 16 bytes
in hex), checked against Python's hashlib on files of 0, 100, 4096, 5000
and 1,000,000 bytes mapped by a live process, and on a mapped file that
was deleted since."""
import hashlib
import json
import os
import random

import pytest

from conftest import FIXTURES, need, run_modmap

SIZES = [0, 100, 4096, 5000, 1_000_000]


def otel_file_id(data):
    """The specification's formula, as Python slices say it."""
    h = hashlib.sha256(data[:4096] + data[-4096:] + len(data).to_bytes(8, "big"))
    return h.hexdigest()[:32]


def make_file(path, n):
    data = random.Random(n).randbytes(n)
    path.write_bytes(data)
    return data


def mapped(pid, *args):
    doc = json.loads(run_modmap("--pid", pid, "--build-id", "htlhash", "-f", "json",
                                *args).stdout)
    return doc["mappings"]


def test_htlhash_of_files_of_every_size_is_hashlibs(spawn, tmp_path):
    files = {}
    for n in SIZES:
        p = tmp_path / f"f{n}.bin"
        files[str(p)] = make_file(p, n)
    proc = spawn([FIXTURES / "idmapper", "--mmap", *files])
    maps = mapped(proc.pid)
    for path, data in files.items():
        got = [m for m in maps if m["file"] == path]
        assert got, (path, [m["file"] for m in maps])
        for m in got:
            assert (m["build_id_kind"], m["build_id"]) == ("htlhash", otel_file_id(data)), \
                (path, len(data), m)
    # Every other file too (the fixture, libc, the loader), from its bytes on disk.
    others = [m for m in maps if m["file"].startswith("/") and m["file"] not in files]
    assert others
    for m in others:
        with open(m["file"], "rb") as f:
            assert m["build_id"] == otel_file_id(f.read()), m["file"]
        assert m["build_id_kind"] == "htlhash"


def test_htlhash_of_a_deleted_mapped_file(spawn, tmp_path):
    need("map_files")   # a deleted file is read through /proc/PID/map_files
    p = tmp_path / "gone.bin"
    data = make_file(p, 123_457)
    proc = spawn([FIXTURES / "idmapper", "--mmap", p])
    os.unlink(p)
    m = next(m for m in mapped(proc.pid) if m["file"] == str(p))
    assert m["deleted"] is True
    assert (m["build_id_kind"], m["build_id"]) == ("htlhash", otel_file_id(data))


def test_text_shows_the_htlhash(spawn, tmp_path):
    p = tmp_path / "t.bin"
    data = make_file(p, 5000)
    proc = spawn([FIXTURES / "idmapper", "--mmap", p])
    text = run_modmap("--pid", proc.pid, "--build-id", "htlhash").stdout.decode()
    line = next(line for line in text.splitlines() if line.endswith(str(p)))
    assert otel_file_id(data) in line.split()


def test_unknown_mode_names_htlhash():
    p = run_modmap("--self", "--build-id", "sha", check=False)
    assert p.returncode == 2
    assert "htlhash" in p.stderr.decode().splitlines()[0]
