"""attach --snapshot never holds what it need not: a pprof snapshot goes by
as a stream (its mapping table and the strings it names are all that stay),
a CBOR one is walked without libcbor's tree of every item. Peak memory is
measured with /usr/bin/time -f %M against inputs that used to cost
gigabytes."""
import os
import shutil
import subprocess
import zlib

import cbor2
import pytest

from conftest import MODMAP

MiB = 1 << 20


def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_bytes(field, data):
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def pb_uint(field, v):
    return pb_varint(field << 3) + pb_varint(v)


def good_profile():
    loc = pb_bytes(4, pb_uint(1, 1) + pb_uint(3, 0x1100))
    return loc + pb_bytes(6, b"") + pb_bytes(6, b"samples")


def gzip_of(path, chunk, count, head=b"", tail=b""):
    """Writes gzip of head + chunk * count + tail to path, never whole."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(z.compress(head))
        for _ in range(count):
            f.write(z.compress(chunk))
        f.write(z.compress(tail) + z.flush())


def peak_kib(argv):
    """Runs argv under /usr/bin/time; returns (CompletedProcess, peak RSS in KiB)."""
    if not os.path.exists("/usr/bin/time"):
        pytest.skip("/usr/bin/time (Debian package time) is not installed")
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, argv)], capture_output=True,
                       timeout=300)
    lines = [l for l in p.stderr.decode().splitlines()
             if not l.startswith("Command exited with non-zero status")]
    return p, int(lines[-1]), "\n".join(lines[:-1])


def attach(tmp_path, snap):
    prof = tmp_path / "p.pb"
    prof.write_bytes(good_profile())
    return peak_kib([MODMAP, "attach", "--snapshot", snap, prof, "-o", tmp_path / "out.pb.gz"])


MAPPING = pb_bytes(3, pb_uint(1, 1) + pb_uint(2, 0x1000) + pb_uint(3, 0x2000) + pb_uint(5, 1))
STRINGS = pb_bytes(6, b"") + pb_bytes(6, b"/bin/x")


def test_valid_pprof_bomb_streams(tmp_path):
    """256 MiB of samples around one mapping, in a small gzip file: attached,
    holding a few MiB."""
    snap = tmp_path / "snap.pb.gz"
    sample = pb_bytes(2, bytes(1021))   # 1 KiB each
    gzip_of(snap, sample * 1024, 256, head=MAPPING, tail=STRINGS)
    assert snap.stat().st_size < MiB
    p, kib, err = attach(tmp_path, snap)
    assert p.returncode == 0, err
    assert "attached 1 mappings" in err
    assert kib < 64 * 1024, f"peak {kib} KiB for a 256 MiB snapshot"


def test_gzip_bomb_of_zeros_is_refused_in_bounded_memory(tmp_path):
    snap = tmp_path / "bomb.gz"
    gzip_of(snap, bytes(MiB), 512)      # 512 MiB of zeros, 512 KiB of gzip
    p, kib, err = attach(tmp_path, snap)
    assert p.returncode == 1
    assert err == f"modmap: {snap}: not a valid pprof profile: invalid field number (at byte 0)"
    assert kib < 64 * 1024, f"peak {kib} KiB for a gzip bomb"
    assert os.listdir(tmp_path) == ["bomb.gz", "p.pb"]


def test_cbor_of_small_items_costs_its_size_not_seventy_times(tmp_path):
    """16 MiB of one-byte items beside the mappings: libcbor's tree of them
    would take over a GiB."""
    snap = tmp_path / "snap.cbor"
    mapping = {"start": 0x1000, "limit": 0x2000, "offset": 0, "file": "/bin/x"}
    snap.write_bytes(cbor2.dumps({"junk": [0] * (16 * MiB), "mappings": [mapping]}))
    p, kib, err = attach(tmp_path, snap)
    assert p.returncode == 0, err
    assert "attached 1 mappings" in err
    assert kib < 96 * 1024, f"peak {kib} KiB for a 16 MiB CBOR snapshot"


def test_cbor_mapping_of_too_many_items_is_refused(tmp_path):
    snap = tmp_path / "snap.cbor"
    mapping = {"start": 0x1000, "limit": 0x2000, "offset": 0, "file": "/bin/x",
               "junk": [0] * 10000}
    snap.write_bytes(cbor2.dumps({"mappings": [mapping]}))
    p, kib, err = attach(tmp_path, snap)
    assert p.returncode == 1
    assert err == (f"modmap: {snap}: not a modmap CBOR snapshot: mapping 1 holds 10011 "
                   "items (at most 4096)")
