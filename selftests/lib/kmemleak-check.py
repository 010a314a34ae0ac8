#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""kmemleak-check.py KMEMLEAK_TXT MODNAME [MODULE.ko SECTIONS_TXT]

Sort the report of /sys/kernel/debug/kmemleak (read in the guest after the
module was unloaded) into leaks of module MODNAME and the others.

A leak is the module's when a backtrace line names it ("func+0x1/0x2
[kmqttd]") or is an address that no longer resolves in module space
(from 0xffffffffa0000000, MODULES_VADDR without KASLR): kmemleak
symbolizes when it prints, after the unload, and the sanitizer kernel has
every driver built in, so the module is the only code that was ever there.  Such addresses are named again from
MODULE.ko's symbol table and SECTIONS_TXT (lines "/sys/module/M/sections/
.text:0xADDR", saved before the unload; valid for the last load only).

Prints the module's leaks on stdout, a one-line count of the others on
stderr.  Exit status 1 if the module leaked, else 0.
"""
import re
import subprocess
import sys

MODSPACE = 0xffffffffa0000000
RAW = re.compile(r"^\s+0x([0-9a-f]{16})\s*$")


def symbols(ko, sections_txt):
    """[(start, end, name)] of the module's functions, at their load address."""
    bases = {}
    try:
        with open(sections_txt) as f:
            for line in f:
                path, _, addr = line.strip().rpartition(":")
                bases[path.rsplit("/", 1)[-1]] = int(addr, 16)
    except (OSError, ValueError):
        return []
    try:
        out = subprocess.run(["objdump", "-t", ko], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    syms = []
    # 0000000000000010 l     F .text	0000000000000042 name
    for m in re.finditer(r"^([0-9a-f]+) .{6}F (\S+)\s+([0-9a-f]+) (\S+)$",
                         out, re.M):
        value, sec, size, name = m.groups()
        if sec in bases:
            start = bases[sec] + int(value, 16)
            syms.append((start, start + int(size, 16), name))
    return syms


def name(addr, syms):
    for start, end, sym in syms:
        if start <= addr < end:
            return f"{sym}+{addr - start:#x}/{end - start:#x}"
    return None


def main(argv):
    if len(argv) not in (3, 5):
        sys.exit(__doc__)
    report, mod = argv[1], argv[2]
    syms = symbols(argv[3], argv[4]) if len(argv) == 5 else []
    with open(report, errors="replace") as f:
        text = f.read()
    records = [r for r in re.split(r"(?m)^(?=unreferenced object )", text)
               if r.startswith("unreferenced object ")]
    ours, others = [], 0
    for rec in records:
        mine = False
        lines = []
        for line in rec.rstrip("\n").split("\n"):
            m = RAW.match(line)
            if m and int(m.group(1), 16) >= MODSPACE:
                mine = True
                n = name(int(m.group(1), 16), syms)
                if n:
                    line += f"  ({n} [{mod}], unloaded)"
                else:
                    line += f"  (module space: [{mod}], unloaded)"
            elif f"[{mod}]" in line:
                mine = True
            lines.append(line)
        if mine:
            ours.append("\n".join(lines))
        else:
            others += 1
    for rec in ours:
        print(rec)
    if others:
        print(f"kmemleak: {others} unreferenced object(s) not from {mod} "
              f"(not counted)", file=sys.stderr)
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
