"""Binary formats never reach a terminal: standard output on a pty (python's
pty module) gets nothing, stderr says to use -o, and the exit status is 2.
With -o the file is written even when standard output is a terminal; an
-o that names a terminal (/dev/pts/N, /dev/stdout on one) is refused too."""
import gzip
import os
import pty
import select
import subprocess

import pytest

from conftest import MODMAP

BINARY = ["cbor", "pprof"]


def run_on_pty(args):
    """Runs modmap with stdout on a pty; returns (status, stderr, tty bytes)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([str(MODMAP), *map(str, args)], stdout=slave,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=120)
        os.close(slave)
        slave = -1
        seen = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:		# EIO: every slave end is closed
                break
            if not chunk:
                break
            seen += chunk
        return p.returncode, p.stderr.decode(errors="replace"), seen
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


@pytest.mark.parametrize("fmt", BINARY)
def test_binary_refused_on_terminal(fmt):
    status, err, seen = run_on_pty(["--self", "--format", fmt])
    assert status == 2
    assert seen == b""
    assert err.startswith("modmap: refusing to write binary")
    assert "use -o FILE" in err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_text_formats_still_reach_terminal(fmt):
    status, _, seen = run_on_pty(["--self", "--format", fmt])
    assert status == 0
    assert b"mappings" in seen


@pytest.mark.parametrize("fmt", BINARY)
def test_binary_with_output_file_on_terminal(fmt, tmp_path):
    out = tmp_path / "snap"
    status, err, seen = run_on_pty(["--self", "--format", fmt, "-o", out])
    assert (status, err, seen) == (0, "", b"")
    data = out.read_bytes()
    if fmt == "pprof":
        assert gzip.decompress(data)
    else:
        assert data[:3] == b"\xd9\xd9\xf7"	# self-described CBOR


def run_with_o_on_pty(args):
    """Runs modmap with standard output a pipe and -o naming a pty's slave
    (/dev/pts/N); returns (status, stderr, what reached the terminal)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([str(MODMAP), *map(str, args), "-o", os.ttyname(slave)],
                           capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        seen = b""
        while select.select([master], [], [], 0.2)[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            seen += chunk
        assert p.stdout == b""
        return p.returncode, p.stderr.decode(errors="replace"), seen
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("fmt", BINARY)
def test_binary_refused_to_a_terminal_named_by_o(fmt):
    """-o /dev/pts/N is a terminal as much as standard output is."""
    status, err, seen = run_with_o_on_pty(["--self", "--format", fmt])
    assert (status, seen) == (2, b"")
    assert err.startswith(f"modmap: refusing to write binary {fmt} output to a terminal")
    assert err.splitlines()[1] == "Try 'modmap --help'."


@pytest.mark.parametrize("fmt", BINARY)
def test_binary_refused_to_dev_stdout_on_a_terminal(fmt):
    status, err, seen = run_on_pty(["--self", "--format", fmt, "-o", "/dev/stdout"])
    assert (status, seen) == (2, b"")
    assert err.startswith("modmap: refusing to write binary")


def test_text_to_a_terminal_named_by_o():
    status, err, seen = run_with_o_on_pty(["--self", "--format", "json"])
    assert (status, err) == (0, "")
    assert b'"mappings"' in seen


def test_attach_refuses_a_terminal_named_by_o(tmp_path):
    snap, prof = tmp_path / "snap.pb.gz", tmp_path / "p.pb"
    subprocess.run([str(MODMAP), "--self", "-f", "pprof", "-o", str(snap)], check=True)
    prof.write_bytes(b"\x22\x04\x08\x01\x18\x10" + b"\x32\x00\x32\x01s")  # a location, strings
    status, err, seen = run_with_o_on_pty(["attach", "--snapshot", snap, prof])
    assert (status, seen) == (2, b"")
    assert err.splitlines() == [
        "modmap: attach: not writing a binary profile to a terminal; use -o FILE",
        "Try 'modmap attach --help'."]
