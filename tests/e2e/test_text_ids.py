"""Text output shows a path+mtime build ID as its mtime part: the path is
the file column already (170-character lines otherwise). JSON keeps the ID
whole. The oracle for the mtime: os.stat() of the file, printed as Go's
time.Time.String() prints it in UTC."""
import datetime
import json
import os
import re
import subprocess

from conftest import run_modmap


def go_time_utc(ns):
    """Go's time.Time.String() in UTC: nanoseconds without trailing zeros."""
    t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    frac = f"{ns % 10**9:09d}".rstrip("0")
    return t.strftime("%Y-%m-%d %H:%M:%S") + ("." + frac if frac else "") + " +0000 UTC"


def columns(text):
    """The mapping lines of a text snapshot, cut at the header's columns."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("start "))
    b, f = lines[head].index("build_id"), lines[head].index("file")
    return [(line[b:f].rstrip(), line[f:]) for line in lines[head + 1:] if line.startswith("0x")]


def test_text_shows_the_mtime_part_and_json_the_whole_id(sleeper):
    env = dict(os.environ, TZ="UTC")
    args = ["--pid", sleeper.pid, "--mappings", "all", "--build-id", "mtime"]
    text = run_modmap(*args, env=env).stdout.decode()
    rows = columns(text)
    files = [(bid, f) for bid, f in rows if f.startswith("/")]
    assert files, text
    for bid, f in files:
        assert bid == go_time_utc(os.stat(f).st_mtime_ns), (bid, f)
        line = next(line for line in text.splitlines() if line.endswith(f))
        assert line.count(f) == 1, line
    doc = json.loads(run_modmap(*args, "-f", "json", env=env).stdout)
    for m in doc["mappings"]:
        if m["file"].startswith("/"):
            assert m["build_id_kind"] == "path-mtime"
            assert m["build_id"] == m["file"] + go_time_utc(os.stat(m["file"]).st_mtime_ns)


def test_content_ids_stay_whole_in_text():
    """A GNU build ID is shown whole, as readelf reads it from the file."""
    rows = columns(run_modmap("--self", "--mappings", "all").stdout.decode())
    checked = 0
    for bid, f in rows:
        if not f.startswith("/") or f.endswith(" (deleted)"):
            continue
        note = re.search(r"Build ID: ([0-9a-f]+)", subprocess.run(
            ["readelf", "-n", f], capture_output=True, text=True).stdout)
        if note:
            assert bid == note.group(1), f
            checked += 1
    assert checked, rows
