#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/{elf,pe}: shapes the
compilers here do not make (big-endian ELF, 8-byte aligned notes, notes
only a section covers, NB10 CodeView). Real files (a tiny static binary,
the heads of mingw images) sit beside them. Run from the repo root."""
import struct
from pathlib import Path


def up(v, a):
    return (v + a - 1) // a * a


def notes(be, align, entries):
    e = ">" if be else "<"
    out = bytearray()
    for name, ntype, desc in entries:
        hdr = struct.pack(e + "III", len(name), len(desc), ntype) + name
        out += hdr
        out += b"\0" * (up(len(out), align) - len(out))
        out += desc
        out += b"\0" * (up(len(out), align) - len(out))
    return bytes(out)


def elf(is64, be, align, in_phdr, in_shdr, area):
    e = ">" if be else "<"
    ehsize, phsize, shsize = (64, 56, 64) if is64 else (52, 32, 40)
    notes_at, sh_at = 0x100, 0x100 + up(len(area), 8)
    b = bytearray(sh_at + 3 * shsize)
    b[0:7] = b"\x7fELF" + bytes([2 if is64 else 1, 2 if be else 1, 1])
    word = "Q" if is64 else "I"
    struct.pack_into(e + "HH", b, 16, 3, 62)
    struct.pack_into(e + word + word, b, 32 if is64 else 28,
                     ehsize if in_phdr else 0, sh_at if in_shdr else 0)
    struct.pack_into(e + "HHHHH", b, 52 if is64 else 40, ehsize, phsize,
                     1 if in_phdr else 0, shsize, 2 if in_shdr else 0)
    b[notes_at:notes_at + len(area)] = area
    if in_phdr:
        if is64:
            struct.pack_into(e + "IIQQQQQQ", b, ehsize, 4, 4, notes_at, 0, 0,
                             len(area), len(area), align)
        else:
            struct.pack_into(e + "IIIIIIII", b, ehsize, 4, notes_at, 0, 0,
                             len(area), len(area), 4, align)
    if in_shdr:
        at = sh_at + shsize
        if is64:
            struct.pack_into(e + "IIQQQQIIQQ", b, at, 0, 7, 2, 0, notes_at,
                             len(area), 0, 0, align, 0)
        else:
            struct.pack_into(e + "IIIIIIIIII", b, at, 0, 7, 2, 0, notes_at,
                             len(area), 0, 0, align, 0)
    return bytes(b)


def pe(plus, cv):
    b = bytearray(0x400)
    b[0:2] = b"MZ"
    struct.pack_into("<I", b, 0x3C, 0x40)
    optsize = 240 if plus else 224
    b[0x40:0x44] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", b, 0x44, 0x8664 if plus else 0x14C, 1,
                     0x6B07749A, 0, 0, optsize, 0x22)
    opt = 0x58
    struct.pack_into("<H", b, opt, 0x20B if plus else 0x10B)
    struct.pack_into("<II", b, opt + 56, 0x23000, 0x200)
    dirs = opt + (108 if plus else 92)
    struct.pack_into("<I", b, dirs, 16)
    struct.pack_into("<II", b, dirs + 4 + 6 * 8, 0x3000, 28)
    sh = opt + optsize
    b[sh:sh + 8] = b".buildid"
    struct.pack_into("<IIII", b, sh + 8, 0x100, 0x3000, 0x200, 0x200)
    if cv == "RSDS":
        rec = b"RSDS" + bytes(range(16)) + struct.pack("<I", 7) + b"C:\\x\\a.pdb\0"
    else:
        rec = b"NB10" + struct.pack("<III", 0, 0x3A2B1C0D, 3) + b"old.pdb\0"
    struct.pack_into("<IIHHIIII", b, 0x200, 0, 0, 0, 0, 2, len(rec), 0x3040, 0x240)
    b[0x240:0x240 + len(rec)] = rec
    return bytes(b)


def main():
    sha1 = bytes(range(20))
    go = b"abc/def/ghi/jkl"
    prop = (b"GNU\0", 5, b"\0" * 16)
    d = Path("tests/fuzz/corpus/elf")
    for is64 in (0, 1):
        for be in (0, 1):
            area = notes(be, 8 if is64 else 4,
                         [prop, (b"GNU\0", 3, sha1), (b"Go\0\0", 4, go)])
            name = f"hand{64 if is64 else 32}{'be' if be else 'le'}"
            (d / name).write_bytes(elf(is64, be, 8 if is64 else 4, 1, 1, area))
    area = notes(0, 4, [(b"GNU\0", 3, sha1)])
    (d / "section-only").write_bytes(elf(1, 0, 4, 0, 1, area))
    p = Path("tests/fuzz/corpus/pe")
    (p / "hand-pe32plus-rsds").write_bytes(pe(True, "RSDS"))
    (p / "hand-pe32-nb10").write_bytes(pe(False, "NB10"))


main()
