"""The Debian packages as a user gets them: `make deb` builds modmap,
libmodmap0 and libmodmap-dev (lintian finding no error), `apt-get install`
of the three .debs gives a working /usr/bin/modmap, its man pages,
`pkg-config modmap`, and a consumer (examples/modmap-threads.c) that
builds against them and reads a live process as the kernel's
/proc/PID/maps says; removing them leaves nothing behind.

Installs into the running system, so it needs root, and refuses to touch
a machine where the packages are already installed.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, needs, proc_maps

PACKAGES = ("modmap", "libmodmap0", "libmodmap-dev")
pytestmark = needs("root")


def sh(*argv, env=None, timeout=600):
    p = subprocess.run([str(a) for a in argv], capture_output=True, env=env, timeout=timeout)
    assert p.returncode == 0, (argv, p.stdout.decode(errors="replace")[-3000:],
                               p.stderr.decode(errors="replace")[-3000:])
    return p.stdout.decode()


def version():
    return re.search(r"^VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", pkg], capture_output=True)
    return p.returncode == 0 and p.stdout.decode().endswith(" installed")


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    for tool in ("dpkg-buildpackage", "dh", "lintian"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing (Debian: dpkg-dev, debhelper, lintian; .ci/packages)")
    already = [p for p in PACKAGES if installed(p)]
    if already:
        pytest.skip(f"{already} already installed here: the test installs and removes them")
    build = tmp_path_factory.mktemp("debbuild")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    sh("make", "-s", "-C", ROOT, "deb", f"BUILD={build}", env=env, timeout=1200)
    arch = sh("dpkg", "--print-architecture").strip()
    files = [build / "deb" / f"{p}_{version()}_{arch}.deb" for p in PACKAGES]
    for f in files:
        assert f.exists(), f"make deb made no {f.name}"
    return files


@pytest.fixture(scope="module")
def system(debs):
    """The three packages installed with apt, as README says; purged after."""
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        sh(*apt, "install", "--no-install-recommends", *debs, env=env)
        yield sh("dpkg", "-L", *PACKAGES).split()
    finally:
        sh(*apt, "purge", *PACKAGES, env=env)
    for p in PACKAGES:
        assert not installed(p), p
    assert not Path("/usr/bin/modmap").exists()


def multiarch():
    return sh("dpkg-architecture", "-qDEB_HOST_MULTIARCH").strip()


def test_packages_hold_what_each_is_for(system):
    lib = f"/usr/lib/{multiarch()}"
    want = {"modmap": ["/usr/bin/modmap", "/usr/share/man/man1/modmap.1.gz"],
            "libmodmap0": [f"{lib}/libmodmap.so.0"],
            "libmodmap-dev": ["/usr/include/modmap.h", f"{lib}/libmodmap.so",
                              f"{lib}/libmodmap.a", f"{lib}/pkgconfig/modmap.pc",
                              "/usr/share/man/man3/libmodmap.3.gz"]}
    for pkg, paths in want.items():
        files = sh("dpkg", "-L", pkg).split()
        for path in paths:
            assert path in files, (pkg, path)
    dyn = sh("readelf", "-d", f"{lib}/libmodmap.so.0")
    assert re.search(r"\(SONAME\)\s+Library soname: \[libmodmap\.so\.0\]", dyn), dyn
    assert os.readlink(f"{lib}/libmodmap.so") == "libmodmap.so.0"


def test_installed_modmap_runs(system, sleeper):
    assert sh("/usr/bin/modmap", "--version") == f"modmap {version()}\n"
    out = sh("/usr/bin/modmap", "--pid", sleeper.pid, "--mappings", "all", "-f", "jsonl")
    doc = json.loads(out)
    kernel = [(m["start"], m["limit"]) for m in proc_maps(sleeper.pid)]
    got = [(int(m["start"], 16), int(m["limit"], 16)) for m in doc["mappings"]]
    assert got == kernel


@needs("mandoc")
@pytest.mark.parametrize("page, title", [("man1/modmap.1.gz", "MODMAP(1)"),
                                         ("man3/libmodmap.3.gz", "LIBMODMAP(3)")])
def test_man_pages_are_installed(system, page, title, tmp_path):
    src = tmp_path / "page"
    src.write_bytes(gzip.decompress(Path("/usr/share/man", page).read_bytes()))
    text = sh("mandoc", "-T", "ascii", src)
    assert text.splitlines()[0].startswith(title), text[:200]


def test_pkg_config_and_a_consumer_build_against_them(system, sleeper, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PKG_CONFIG_PATH"}
    assert sh("pkg-config", "--modversion", "modmap", env=env).strip() == version()
    flags = sh("pkg-config", "--cflags", "--libs", "modmap", env=env).split()
    exe = tmp_path / "modmap-threads"
    sh("cc", "-std=c99", "-Wall", "-Werror", "-o", exe, ROOT / "examples/modmap-threads.c",
       *flags, "-lpthread")
    # It runs with the system's library, found with no LD_LIBRARY_PATH.
    ldd = sh("ldd", exe)
    assert re.search(rf"libmodmap\.so\.0 => /(usr/)?lib/{multiarch()}/libmodmap\.so\.0", ldd), ldd
    out = sh(exe, sleeper.pid, env=env)
    rows = [line.split("\t") for line in out.splitlines()]
    kernel = [(m["start"], m["name"]) for m in proc_maps(sleeper.pid)
              if "x" in m["perms"] and m["name"]]
    assert [(int(r[1], 16), r[7]) for r in rows] == kernel
    assert {int(r[0]) for r in rows} == {sleeper.pid}
