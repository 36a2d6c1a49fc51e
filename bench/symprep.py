#!/usr/bin/python3
"""symprep.py: what job_symbolize.sh measures on (bench/README.md).

    symprep.py libs DIR N FUNCS      N shared libraries, -O2 -g, each FUNCS
                                     functions that inline a helper, with
                                     distinct build IDs
    symprep.py host LIB...           a process with every LIB loaded (dlopen),
                                     printing "ready" and waiting on stdin
    symprep.py addrs PID OUT COUNT   COUNT distinct code addresses spread
                                     over the libraries PID has loaded from
                                     DIR's libraries: OUT.pb (a profile of
                                     one sample a location, no mapping, no
                                     line) and OUT.llvm (llvm-symbolizer's
                                     input: "FILE 0xVADDR" a line)
"""
import ctypes
import os
import subprocess
import sys


def libs(d, n, funcs):
    os.makedirs(d, exist_ok=True)
    for k in range(n):
        src = [f"static inline __attribute__((always_inline)) int helper_{k}(int x)"
               f" {{ return x * {k + 3} + (x >> 3); }}"]
        for f in range(funcs):
            src.append(f"__attribute__((noinline)) int lib{k}_fn{f}(int x) {{ int s = 0;"
                       f" for (int i = 0; i < x; i++) s += helper_{k}(i ^ {f}); return s; }}")
        c = os.path.join(d, f"libsym{k}.c")
        with open(c, "w") as fh:
            fh.write("\n".join(src) + "\n")
        subprocess.run(["cc", "-O2", "-g", "-shared", "-fPIC", "-Wl,--build-id=sha1", "-o",
                        os.path.join(d, f"libsym{k}.so"), c], check=True)


def host(paths):
    keep = [ctypes.CDLL(os.path.abspath(p)) for p in paths]
    print("ready", len(keep), flush=True)
    sys.stdin.read()


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(num, wt, payload):
    if wt == 0:
        return varint(num << 3) + varint(payload)
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def addrs(pid, out, count):
    bases, files = {}, []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and "libsym" in parts[5] and int(parts[2], 16) == 0:
                path = parts[5]
                if path not in bases:
                    bases[path] = int(parts[0].split("-")[0], 16)
                    files.append(path)
    per = count // len(files)
    picked = []
    for path in files:
        text = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True,
                              text=True, check=True).stdout
        fns = sorted((int(a, 16), int(s, 16)) for a, s, t, name in
                     (line.split() for line in text.splitlines() if len(line.split()) == 4)
                     if t in "tT" and "_fn" in name)
        got = []
        step = 0
        while len(got) < per and step < max(s for _, s in fns):
            got += [a + step for a, s in fns if step < s][:per - len(got)]
            step += 1
        picked += [(path, v) for v in got]
    parts = [field(1, 2, field(1, 0, 1) + field(2, 0, 2))]
    parts += [field(2, 2, field(1, 0, i + 1) + field(2, 0, 1)) for i in range(len(picked))]
    parts += [field(4, 2, field(1, 0, i + 1) + field(3, 0, bases[path] + v))
              for i, (path, v) in enumerate(picked)]
    parts += [field(6, 2, s) for s in (b"", b"samples", b"count")]
    with open(out + ".pb", "wb") as f:
        f.write(b"".join(parts))
    with open(out + ".llvm", "w") as f:
        for path, v in picked:
            f.write(f"{path} {v:#x}\n")
    print(len(picked), "addresses over", len(files), "libraries", file=sys.stderr)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "libs":
        libs(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "host":
        host(sys.argv[2:])
    else:
        addrs(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
