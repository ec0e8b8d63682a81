#!/usr/bin/env python3
"""Prints the size of the QEMU firmware programs as a Markdown table: each program's
`.text`, `.rodata` and `.bss` (its state, in statics) on every Cortex-M target, and its `.text` less
`qemu-baseline`'s (the same runtime, clock, UART driver and log without minichat): the
protocol's own share. Run after building for each target (CI's firmware-on-QEMU step).

With `--check FILE` it compares every `.text` with the figure recorded in FILE
(BENCHMARKS.md, "Firmware on QEMU") and exits 1 if one grew by more than 2%."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import MARGIN, sections  # noqa: E402  (the footprint report's ELF reader)

TARGETS = ["thumbv6m-none-eabi", "thumbv7m-none-eabi", "thumbv7em-none-eabihf"]
PROGRAMS = {"qemu-baseline": "baseline (runtime, UART, log)", "qemu-chat": "client (`qemu-chat`)",
            "qemu-server": "server, 8 users (`qemu-server`)"}
HERE = Path(__file__).resolve().parent


def measure():
    rows = []
    for target in TARGETS:
        base = sections(HERE / "target" / target / "release" / "qemu-baseline").get(".text", 0)
        for program, label in PROGRAMS.items():
            s = sections(HERE / "target" / target / "release" / program)
            text, rodata, bss = s.get(".text", 0), s.get(".rodata", 0), s.get(".bss", 0)
            share = "—" if program == "qemu-baseline" else f"{text - base:,}"
            rows.append((target, label, text, rodata, bss, share))
    return rows


def recorded(path):
    sizes = {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in TARGETS and cells[1] in PROGRAMS.values():
            sizes[(cells[0], cells[1])] = int(cells[2].replace(",", ""))
    return sizes


def main():
    rows = measure()
    print("| target | program | `.text` | `.rodata` | `.bss` (state) | `.text` less the baseline |")
    print("|---|---|---:|---:|---:|---:|")
    for target, label, text, rodata, bss, share in rows:
        print(f"| {target} | {label} | {text:,} | {rodata:,} | {bss:,} | {share} |")
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        known = recorded(sys.argv[2])
        grew = [(t, l, x, known[(t, l)]) for t, l, x, *_ in rows
                if (t, l) in known and x > known[(t, l)] * (1 + MARGIN)]
        missing = [(t, l) for t, l, *_ in rows if (t, l) not in known]
        for t, l, x, k in grew:
            print(f"{t} {l}: .text {x:,} B, recorded {k:,} B (more than 2% over)", file=sys.stderr)
        for t, l in missing:
            print(f"{t} {l}: not recorded in {sys.argv[2]}", file=sys.stderr)
        if grew or missing:
            sys.exit(1)


if __name__ == "__main__":
    main()
