"""One version, set in the Makefile, is what every place a user reads a
version says: `modmap --version`, modmap_version() and
MODMAP_VERSION_STRING of the installed library and header, the installed
modmap.pc (as pkg-config reads it), both man pages' footers (as mandoc
renders them) and debian/changelog (as dpkg-parsechangelog reads it)."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, needs, run_modmap


def makefile_version():
    m = re.search(r"^VERSION := (\S+)$", (ROOT / "Makefile").read_text(), flags=re.M)
    assert m, "the Makefile sets no VERSION"
    return m.group(1)


VERSION = makefile_version()


def sh(*argv, env=None):
    p = subprocess.run([str(a) for a in argv], capture_output=True, env=env, timeout=300)
    assert p.returncode == 0, (argv, p.stderr.decode(errors="replace"))
    return p.stdout.decode()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    sh("make", "-s", "-C", ROOT, "install", "PREFIX=/usr", f"DESTDIR={dest}", env=env)
    return dest / "usr"


def test_version_option_says_the_makefiles_version():
    assert run_modmap("--version").stdout.decode() == f"modmap {VERSION}\n"


def test_installed_library_header_and_pc_say_it(installed, tmp_path):
    env = dict(os.environ, PKG_CONFIG_PATH=str(installed / "lib/pkgconfig"))
    assert sh("pkg-config", "--define-prefix", "--modversion", "modmap",
              env=env).strip() == VERSION
    prog = tmp_path / "v.c"
    prog.write_text('#include <stdio.h>\n#include <modmap.h>\n'
                    'int main(void) { printf("%s %s\\n", modmap_version(), '
                    'MODMAP_VERSION_STRING); return 0; }\n')
    flags = sh("pkg-config", "--define-prefix", "--cflags", "--libs", "modmap", env=env).split()
    sh("cc", "-o", tmp_path / "v", prog, *flags)
    out = sh(tmp_path / "v", env=dict(os.environ, LD_LIBRARY_PATH=str(installed / "lib")))
    assert out == f"{VERSION} {VERSION}\n"


@needs("mandoc")
@pytest.mark.parametrize("page", ["man1/modmap.1", "man3/libmodmap.3"])
def test_installed_man_pages_footer_says_it(installed, page):
    text = sh("mandoc", "-T", "ascii", installed / "share/man" / page)
    footer = text.rstrip("\n").splitlines()[-1]
    assert footer.split()[0] == "modmap" and footer.split()[1] == VERSION, footer


def test_debian_changelog_says_it():
    if shutil.which("dpkg-parsechangelog") is None:
        pytest.skip("needs dpkg-parsechangelog (Debian: dpkg-dev)")
    got = sh("dpkg-parsechangelog", "-l", ROOT / "debian/changelog", "-S", "Version").strip()
    # A native package: the version itself, no Debian revision.
    assert got == VERSION


def test_make_refuses_to_build_when_a_copy_disagrees(tmp_path):
    """The files that carry the version literally are checked by make."""
    tree = tmp_path / "tree"
    for f in ("Makefile", "include/modmap.h", "docs/modmap.1", "docs/libmodmap.3",
              "debian/changelog"):
        (tree / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tree / f)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    assert subprocess.run(["make", "-s", "-C", tree, "version-check"], env=env,
                          capture_output=True, timeout=60).returncode == 0
    h = tree / "include/modmap.h"
    h.write_text(h.read_text().replace(f'"{VERSION}"', '"9.9.9"'))
    p = subprocess.run(["make", "-s", "-C", tree, "version-check"], env=env,
                       capture_output=True, timeout=60)
    assert p.returncode != 0
    assert f"include/modmap.h says version '9.9.9', the Makefile's VERSION is {VERSION}" \
        in p.stderr.decode()
