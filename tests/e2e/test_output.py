"""-o as a signal or a long name finds it: the temporary file beside the
output never outlives modmap, and any name the file system takes is taken."""
import json
import os
import resource
import signal
import subprocess

import pytest

from conftest import FIXTURES, MODMAP, run_modmap


def run_signalled(sig, argv, cwd):
    """modmap with sig raised at its first write to the temporary file; sig
    at its default disposition whatever the test runner's is (under nohup
    SIGHUP is ignored, and stays so: test_ignored_hangup_stays_ignored)."""
    env = dict(os.environ, LD_PRELOAD=str(FIXTURES / "sigshim.so"),
               MODMAP_TEST_SIGNAL=str(int(sig)))
    return subprocess.run([str(MODMAP), *map(str, argv)], capture_output=True, env=env,
                          cwd=cwd, timeout=120,
                          preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                                 signal.SIGXFSZ])
@pytest.mark.parametrize("existing", [False, True])
def test_signal_while_writing_leaves_no_temporary_file(tmp_path, sleeper, sig, existing):
    """The signal comes right after the first write to the temporary file:
    modmap removes it and dies of that very signal; an output file that was
    there is untouched."""
    out = tmp_path / "out.json"
    if existing:
        out.write_text("old")
    p = run_signalled(sig, ["--pid", sleeper.pid, "-f", "json", "-o", out.name], tmp_path)
    assert p.returncode == -sig, (p.returncode, p.stderr)
    assert sorted(os.listdir(tmp_path)) == (["out.json"] if existing else [])
    if existing:
        assert out.read_text() == "old"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_attach_writes(tmp_path, sig):
    """attach streams its output through the same temporary file."""
    prof = tmp_path / "in.pprof"
    run_modmap("--pid", os.getpid(), "-f", "pprof", "-o", prof)
    p = run_signalled(sig, ["attach", "--pid", os.getpid(), prof.name, "-o", "out.pprof"],
                      tmp_path)
    assert p.returncode == -sig, (p.returncode, p.stderr)
    assert sorted(os.listdir(tmp_path)) == ["in.pprof"]


def test_file_size_limit_leaves_no_temporary_file(tmp_path, sleeper):
    """RLIMIT_FSIZE below the output's size: the kernel sends SIGXFSZ at
    the write that passes it."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))
    p = subprocess.run([str(MODMAP), "--pid", str(sleeper.pid), "-f", "json", "--mappings",
                        "all", "-o", "out.json"], cwd=tmp_path, capture_output=True,
                       preexec_fn=limit, timeout=120)
    assert p.returncode == -signal.SIGXFSZ, (p.returncode, p.stderr)
    assert os.listdir(tmp_path) == []


def test_ignored_hangup_stays_ignored(tmp_path, sleeper):
    """Under nohup (SIGHUP ignored) a hangup does not stop the write."""
    def ignore():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    env = dict(os.environ, LD_PRELOAD=str(FIXTURES / "sigshim.so"),
               MODMAP_TEST_SIGNAL=str(int(signal.SIGHUP)))
    p = subprocess.run([str(MODMAP), "--pid", str(sleeper.pid), "-f", "json", "-o", "out.json"],
                       cwd=tmp_path, capture_output=True, env=env, preexec_fn=ignore,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert os.listdir(tmp_path) == ["out.json"]
    assert json.loads((tmp_path / "out.json").read_text())["pid"] == sleeper.pid


@pytest.mark.parametrize("length", [240, 250, 255])
def test_output_name_up_to_name_max(tmp_path, sleeper, length):
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    if length > name_max:
        pytest.skip(f"this file system takes names of at most {name_max} bytes")
    name = "o" * (length - 5) + ".json"
    run_modmap("--pid", sleeper.pid, "-f", "json", "-o", name, cwd=tmp_path)
    assert os.listdir(tmp_path) == [name]
    assert json.loads((tmp_path / name).read_text())["pid"] == sleeper.pid
    # and replacing a file of that name
    (tmp_path / name).write_text("old")
    run_modmap("--pid", sleeper.pid, "-f", "json", "-o", tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    assert json.loads((tmp_path / name).read_text())["pid"] == sleeper.pid
