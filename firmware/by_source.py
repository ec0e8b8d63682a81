#!/usr/bin/env python3
"""Where a firmware's code comes from: the bytes of `.text` per source file, read from the
debug line tables of a release build (the footprint and QEMU profiles keep `debug = true`;
it does not change the code).

Every instruction's bytes are charged to the source line `llvm-objdump -d -l` names for it:
after LTO and inlining that is the line the instruction was compiled from, so the bytes of
an inlined helper count for the helper's file (core library files included: `result.rs`
is the `?` operator's plumbing, `uint_macros.rs` integer arithmetic). Bytes without a line
(compiler-builtins' assembly, padding) are reported as "(no line)".

    python3 by_source.py ELF                  # files, largest first
    python3 by_source.py ELF --lines PATTERN  # lines of the files matching PATTERN
    python3 by_source.py ELF --top 20

BENCHMARKS.md's breakdowns of the client and server ("What is left") come from it."""

import argparse
import collections
import re
import shutil
import subprocess
import sys

# `; /path/to/file.rs:LINE` as llvm-objdump -l prints it before the instructions of a line.
LINE = re.compile(r"^; (\S+\.rs):(\d+)")
# `   801c:  ...` an instruction at an address.
INSN = re.compile(r"^\s*([0-9a-f]+):\s")
# A symbol's start: `0000801c <name>:`.
SYMBOL = re.compile(r"^[0-9a-f]+ <")
# The longest instruction of the targets measured (Thumb-2 and RISC-V: 4 bytes); a larger
# gap between two addresses is data or alignment, not the first instruction's size.
MAX_INSN = 4


def short(path):
    """A path as a reader knows it: crate-version/..., std:..., or the repository's own."""
    path = re.sub(r".*/registry/src/[^/]+/", "", path)
    path = re.sub(r".*/rustlib/src/rust/library/", "std:", path)
    path = re.sub(r"^/rustc/[0-9a-f]+/library/", "std:", path)
    for root in ("/core/src/", "/firmware/"):
        at = path.find(root)
        if at >= 0 and "registry" not in path:
            return path[at + 1 :]
    return path


def instructions(elf):
    """(address, source line or None) of every instruction in `elf`, in address order."""
    objdump = shutil.which("llvm-objdump")
    if objdump is None:
        sys.exit("by_source.py needs llvm-objdump (Debian's llvm package)")
    out = subprocess.run(
        [objdump, "-d", "-l", "--no-show-raw-insn", elf], capture_output=True, text=True, check=True
    ).stdout
    line = None
    found = []
    for text in out.splitlines():
        if SYMBOL.match(text):
            line = None
            continue
        m = LINE.match(text)
        if m:
            line = (short(m.group(1)), int(m.group(2)))
            continue
        m = INSN.match(text)
        if m:
            found.append((int(m.group(1), 16), line))
    found.sort()
    return found


def sizes(found):
    """Bytes per source line: each instruction runs to the next one's address."""
    per_line = collections.Counter()
    for (address, line), (following, _) in zip(found, found[1:]):
        size = following - address
        if 0 < size <= MAX_INSN:
            per_line[line] += size
    return per_line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("elf")
    parser.add_argument("--lines", metavar="PATTERN", help="lines of the files matching PATTERN")
    parser.add_argument("--top", type=int, default=40, help="how many rows (40)")
    args = parser.parse_args()
    per_line = sizes(instructions(args.elf))
    total = sum(per_line.values())
    if args.lines:
        rows = collections.Counter(
            {f"{f}:{n}": size for (f, n), size in ((k or ("(no line)", 0), v) for k, v in per_line.items())
             if re.search(args.lines, f)}
        )
    else:
        rows = collections.Counter()
        for line, size in per_line.items():
            rows[line[0] if line else "(no line)"] += size
    print(f"{'bytes':>7}  {'share':>6}  source ({args.elf}: {total} bytes of instructions)")
    for name, size in rows.most_common(args.top):
        print(f"{size:>7}  {100 * size / total:>5.1f}%  {name}")


if __name__ == "__main__":
    main()
