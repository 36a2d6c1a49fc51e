"""lookup and perf: a stream whose addresses are mostly in no mapping gets
one warning on standard error naming the likely cause (addresses relative
to their module, as perf script prints callchain entries), and the perf
recipe of docs/lookup.md gives absolute addresses that lookup places in the
modules perf itself names (perf script's dso field is the oracle)."""
import json
import subprocess

from conftest import MODMAP, needs, proc_maps, run_modmap

PY = "/usr/bin/python3"
BUSY = [PY, "-c", "import sys; print('ready', flush=True)\nwhile True: pass"]


def lookup(source, lines):
    return subprocess.run([str(MODMAP), "lookup", *source, "-f", "jsonl"],
                          input="".join(f"{x:x}\n" for x in lines).encode(),
                          capture_output=True, timeout=120)


def warnings(p):
    return [line for line in p.stderr.decode().splitlines() if "warning" in line]


def test_mostly_unmapped_stream_warns_once_and_still_answers(sleeper):
    small = list(range(0x1000, 0x1000 + 20 * 0x10, 0x10))   # DSO-relative-looking
    p = lookup(["--pid", str(sleeper.pid)], small)
    assert p.returncode == 0
    answers = [json.loads(line) for line in p.stdout.splitlines()]
    assert [a["mapped"] for a in answers] == [False] * 20
    w = warnings(p)
    assert len(w) == 1 and p.stderr.decode().count("\n") == 1, p.stderr
    assert w[0].startswith("modmap: lookup: warning: 20 of 20 addresses are in no mapping "
                           f"of pid {sleeper.pid}"), w
    assert "relative to their module" in w[0] and "docs/lookup.md" in w[0]


def test_no_warning_when_most_are_mapped(sleeper):
    starts = [m["start"] for m in proc_maps(sleeper.pid)]
    # Half mapped, half not: not most.
    addrs = starts[:6] + list(range(0x10, 0x10 + 6))
    p = lookup(["--pid", str(sleeper.pid)], addrs)
    assert p.returncode == 0 and p.stderr == b"", p.stderr
    # A handful of unmapped addresses speak for themselves.
    p = lookup(["--pid", str(sleeper.pid)], list(range(0x10, 0x10 + 7)))
    assert p.returncode == 0 and p.stderr == b"", p.stderr


@needs("perf")
def test_perf_recipe_gives_addresses_in_the_modules_perf_names(spawn, tmp_path):
    proc = spawn(BUSY)
    maps = tmp_path / "maps.pb.gz"
    run_modmap("--pid", proc.pid, "-f", "pprof", "-o", maps)
    data = tmp_path / "perf.data"
    subprocess.run(["perf", "record", "-q", "-g", "-e", "cpu-clock:u", "-p", str(proc.pid),
                    "-o", str(data), "--", "sleep", "1"], check=True, capture_output=True,
                   timeout=60)
    script = ["perf", "script", "-i", str(data)]
    # docs/lookup.md's recipe: the sampled instruction addresses, absolute.
    recipe = subprocess.run(f"{' '.join(script)} -F ip -G | {MODMAP} lookup "
                            f"--snapshot {maps} -f jsonl", shell=True, capture_output=True,
                            timeout=120)
    assert recipe.returncode == 0 and recipe.stderr == b"", recipe.stderr
    answers = [json.loads(line) for line in recipe.stdout.splitlines()]
    # perf's own view of the same samples: address and module.
    dso = subprocess.run(script + ["-F", "ip,dso", "-G"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split("\n")
    theirs = []
    for line in dso:
        if line.strip():
            ip, name = line.split(None, 1)
            theirs.append((int(ip, 16), name.strip().strip("()")))
    assert len(answers) == len(theirs) > 20
    for a, (ip, name) in zip(answers, theirs):
        assert int(a["address"], 16) == ip
        assert a["mapped"], a
        assert a["file"] == name, (a, name)
    # perf script -F ip with callchains: entries relative to their module,
    # which no mapping holds: lookup says so.
    chains = subprocess.run(f"{' '.join(script)} -F ip | {MODMAP} lookup "
                            f"--snapshot {maps} -f jsonl", shell=True, capture_output=True,
                            timeout=120)
    assert chains.returncode == 0
    assert len(warnings(chains)) == 1, chains.stderr
    assert "no mapping of the snapshot" in chains.stderr.decode()
