"""The library's ABI can grow (SPEC "The library's ABI and the backend
seam", docs/library.md "The ABI"): a program built against one modmap.h
keeps working with a libmodmap.so.0 whose structs grew by a field, and a
program built against the grown header keeps working with today's library.

The grown side is real: include/modmap.h with one more trailing field in
every extensible struct, and the library's api.c rebuilt against it and
linked with the other objects of this build. The consumer
(tests/fixtures/abiconsumer.c) puts canary bytes after every struct the
library fills, and an inaccessible page after every options struct it
reads; its mappings are checked against the kernel's /proc/PID/maps, which
it prints beside them.
"""
import os
import re
import subprocess

import pytest

from conftest import ROOT, needs

GROWN = ("modmap_options", "modmap_mapping", "modmap_lookup", "modmap_attach_options",
         "modmap_attach_stats", "modmap_collect_options", "modmap_collect_stats")
MODMAP_ERR_UNSUPPORTED = 4


def make_var(name):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    p = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), f"print-{name}"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def sh(*argv, cwd=ROOT):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd,
                       timeout=300)
    assert p.returncode == 0, (argv, p.stderr)
    return p.stdout


def grow_header(src, dst, names=GROWN, at="end"):
    """modmap.h with `uint64_t abi_grown;` appended to (at="end") or
    inserted at the front of (at="front") each struct named."""
    text = src.read_text()
    for name in names:
        if at == "end":
            text, n = re.subn(r"(struct %s \{\n.*?\n)(\};)" % name,
                              r"\1\tuint64_t abi_grown;\n\2", text, count=1, flags=re.S)
        else:
            text, n = re.subn(r"(struct %s \{\n)" % name, r"\1\tuint64_t abi_grown;\n",
                              text, count=1)
        assert n == 1, name
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "modmap.h").write_text(text)


def build_variant(inc, out):
    """libmodmap.so.0 in out, its api.c compiled against the header in inc
    (the only file of the library that sees the public structs' layout),
    linked with the other objects of this build."""
    flags = make_var("FLAGS_NOW").split()
    objs = [ROOT / o for o in make_var("LIB_OBJS").split()]
    out.mkdir(parents=True, exist_ok=True)
    sh(*flags, f"-I{inc}", "-Ilib", "-c", "-o", out / "api.o", "lib/api.c")
    others = [o for o in objs if o.name != "api.o"]
    assert len(others) == len(objs) - 1
    sh("cc", "-shared", "-Wl,-soname,libmodmap.so.0", "-o", out / "libmodmap.so.0",
       out / "api.o", *others, *make_var("LDLIBS").split())
    return out / "libmodmap.so.0"


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """Today's library and the grown one, each in a directory of its own."""
    tmp = tmp_path_factory.mktemp("abi")
    grown_inc = tmp / "grown-include"
    grow_header(ROOT / "include/modmap.h", grown_inc)
    today = ROOT / "build"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    subprocess.run(["make", "-s", "-C", str(ROOT), "build/libmodmap.so.0"], check=True,
                   env=env, timeout=600)
    grown = tmp / "grown"
    build_variant(grown_inc, grown)
    return {"today": today, "grown": grown, "grown_inc": grown_inc, "tmp": tmp}


def consumer(libs, header):
    """abiconsumer built against today's header or the grown one."""
    out = libs["tmp"] / f"consumer-{header}"
    if not out.exists():
        inc = ROOT / "include" if header == "today" else libs["grown_inc"]
        defs = [] if header == "today" else ["-DMODMAP_ABI_GROWN"]
        sh("cc", "-std=c99", "-Wall", "-Werror", *defs, f"-I{inc}", "-o", out,
           ROOT / "tests/fixtures/abiconsumer.c", f"-L{libs['today']}", "-lmodmap")
    return out


@pytest.mark.parametrize("header,lib", [("today", "today"), ("today", "grown"),
                                        ("grown", "today"), ("grown", "grown")])
def test_a_consumer_works_with_a_library_whose_structs_differ(libs, header, lib, tmp_path):
    exe = consumer(libs, header)
    env = dict(os.environ, LD_LIBRARY_PATH=str(libs[lib]))
    store = tmp_path / "store"
    p = subprocess.run([str(exe), str(store)], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("OK"), (p.stdout, p.stderr)
    assert "FAIL" not in p.stdout
    rows = [l.split(None, 3) for l in p.stdout.splitlines() if l.startswith("MAP ")]
    assert rows
    # Each row is an executable mapping of the consumer's own, as the
    # kernel's /proc/self/maps (printed by the consumer as it ran) has it.
    kernel = {}
    for l in p.stdout.splitlines():
        if l.startswith("KMAPS "):
            f = l.split(None, 6)
            lo, hi = (int(x, 16) for x in f[1].split("-"))
            if "x" in f[2]:
                kernel[(lo, hi)] = f[6] if len(f) > 6 else ""
    assert kernel
    for r in rows:
        key = (int(r[1], 16), int(r[2], 16))
        assert key in kernel, r
        assert kernel[key] == (r[3] if len(r) > 3 else ""), r
    files = {r[3] for r in rows if len(r) > 3}
    assert str(exe) in files
    # and the library that ran is the one asked for
    assert str(libs[lib] / "libmodmap.so.0") in files
    unknown = [l for l in p.stdout.splitlines() if l.startswith("UNKNOWN-OPTION")]
    if header == "grown":
        # A newer caller's option the library does not know is refused,
        # not silently ignored; a library that knows it takes it.
        rc, code = map(int, unknown[0].split()[1:])
        if lib == "today":
            assert (rc, code) == (-1, MODMAP_ERR_UNSUPPORTED)
        else:
            assert (rc, code) == (0, 0)
    else:
        assert not unknown


def kernel_rows_match(stdout, exe):
    """Each MAP row is an executable mapping of /proc/self/maps as the
    program printed it while it ran."""
    rows = [l.split(None, 3) for l in stdout.splitlines() if l.startswith("MAP ")]
    kernel = {}
    for l in stdout.splitlines():
        if l.startswith("KMAPS "):
            f = l.split(None, 6)
            lo, hi = (int(x, 16) for x in f[1].split("-"))
            if "x" in f[2]:
                kernel[(lo, hi)] = f[6] if len(f) > 6 else ""
    assert rows and kernel
    for r in rows:
        key = (int(r[1], 16), int(r[2], 16))
        assert kernel.get(key) == (r[3] if len(r) > 3 else ""), r
    assert str(exe) in {r[3] for r in rows if len(r) > 3}


def test_a_program_built_against_0_2_0_works_with_this_library(tmp_path):
    """0.2.0's header (tests/fixtures/abi020/modmap.h) had no sizes: its
    programs call the unsized names, which stay exported with 0.2.0's
    struct sizes and attach's positional form."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    subprocess.run(["make", "-s", "-C", str(ROOT), "build/libmodmap.so.0"], check=True,
                   env=env, timeout=600)
    exe = tmp_path / "abi020"
    sh("cc", "-std=c99", "-Wall", "-Werror", f"-I{ROOT / 'tests/fixtures/abi020'}", "-o", exe,
       ROOT / "tests/fixtures/abi020.c", f"-L{ROOT / 'build'}", "-lmodmap")
    p = subprocess.run([str(exe), str(tmp_path)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, LD_LIBRARY_PATH=str(ROOT / "build")))
    assert p.returncode == 0 and p.stdout.rstrip().endswith("OK"), (p.stdout, p.stderr)
    kernel_rows_match(p.stdout, exe)
    assert str(ROOT / "build/libmodmap.so.0") in p.stdout


def abi_check(lib, headers):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "abi-check",
                           f"ABI_LIB={lib}", f"ABI_HEADERS={headers}"],
                          capture_output=True, text=True, env=env, timeout=300)


@needs("abigail")
def test_abi_check_passes_this_build_and_fields_appended(libs):
    p = abi_check(ROOT / "build/libmodmap.so.0", ROOT / "include")
    assert p.returncode == 0, p.stdout + p.stderr
    # Every extensible struct one field longer: compatible by the policy.
    p = abi_check(libs["grown"] / "libmodmap.so.0", libs["grown_inc"])
    assert p.returncode == 0, p.stdout + p.stderr


@needs("abigail")
def test_abi_check_fails_on_a_field_inserted_at_the_front_of_modmap_mapping(tmp_path):
    inc = tmp_path / "include"
    grow_header(ROOT / "include/modmap.h", inc, names=("modmap_mapping",), at="front")
    lib = build_variant(inc, tmp_path / "lib")
    p = abi_check(lib, inc)
    assert p.returncode != 0
    # abidiff's report names the struct, the new member and what moved.
    assert "struct modmap_mapping" in p.stdout, p.stdout
    assert "'uint64_t abi_grown', at offset 0" in p.stdout, p.stdout
    assert "'uint64_t start' offset changed from 0 to 64" in p.stdout, p.stdout


@needs("abigail")
def test_abi_check_fails_on_a_removed_function(tmp_path):
    """The same soname without a call a program may use: incompatible."""
    lib = tmp_path / "libmodmap.so.0"
    objs = [ROOT / o for o in make_var("LIB_OBJS").split()]
    # The library with modmap_lookup_sz no longer exported, as if removed.
    script = tmp_path / "hide.map"
    script.write_text("{ local: modmap_lookup_sz; };\n")
    sh("cc", "-shared", "-Wl,-soname,libmodmap.so.0", f"-Wl,--version-script={script}",
       "-o", lib, *objs, *make_var("LDLIBS").split())
    assert "modmap_lookup_sz" not in sh("nm", "-D", "--defined-only", lib)
    p = abi_check(lib, ROOT / "include")
    assert p.returncode != 0
    assert "modmap_lookup_sz" in p.stdout, p.stdout
