#!/usr/bin/python3
"""mklibs.py SRC.so DIR N: writes DIR/lib1.so .. DIR/libN.so, copies of SRC
with distinct GNU build IDs. Identical copies would let every cache (the
kernel's, modmap's) hide the cost of reading an ID; these differ in the
note's descriptor bytes, found by walking the ELF program headers for
PT_NOTE and the notes in each for NT_GNU_BUILD_ID ("GNU", type 3). A copy
already there with the right ID is kept."""
import hashlib
import os
import struct
import sys

PT_NOTE, NT_GNU_BUILD_ID = 4, 3


def build_id_span(elf):
    """(offset, size) of the GNU build ID's descriptor in an ELF image."""
    if elf[:4] != b"\x7fELF":
        raise SystemExit("mklibs: not an ELF file")
    wide, end = elf[4] == 2, "<" if elf[5] == 1 else ">"
    if wide:
        phoff, = struct.unpack_from(end + "Q", elf, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", elf, 0x36)
        ph_fmt, off_at, size_at = end + "IIQQQQQQ", 2, 5
    else:
        phoff, = struct.unpack_from(end + "I", elf, 0x1c)
        phentsize, phnum = struct.unpack_from(end + "HH", elf, 0x2a)
        ph_fmt, off_at, size_at = end + "IIIIIIII", 1, 4
    for i in range(phnum):
        ph = struct.unpack_from(ph_fmt, elf, phoff + i * phentsize)
        if ph[0] != PT_NOTE:
            continue
        pos, stop = ph[off_at], ph[off_at] + ph[size_at]
        while pos + 12 <= stop:
            namesz, descsz, ntype = struct.unpack_from(end + "III", elf, pos)
            name_at = pos + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            if ntype == NT_GNU_BUILD_ID and elf[name_at:name_at + namesz] == b"GNU\0":
                return desc_at, descsz
            pos = desc_at + (descsz + 3) // 4 * 4
    raise SystemExit("mklibs: no GNU build ID note")


def main():
    src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    elf = bytearray(open(src, "rb").read())
    at, size = build_id_span(elf)
    os.makedirs(out, exist_ok=True)
    for i in range(1, n + 1):
        bid = hashlib.sha1(b"modmap-bench-%d" % i).digest()[:size].ljust(size, b"\0")
        elf[at:at + size] = bid
        path = os.path.join(out, "lib%d.so" % i)
        try:
            with open(path, "rb") as f:
                if f.read() == elf:
                    continue
        except FileNotFoundError:
            pass
        with open(path + ".tmp", "wb") as f:
            f.write(elf)
        os.rename(path + ".tmp", path)


main()
