#!/usr/bin/env python3
"""Prints the footprint of the firmware builds as a Markdown table.

Section sizes come from `readelf -S` (any ELF target); the state sizes from the
`.minichat_sizes` section the `chat` binary carries, computed by the compiler for the
target itself. Run after the builds of BENCHMARKS.md, "Reproduce" (CI's firmware step).

With `--check FILE` it also compares what it measured with what FILE (BENCHMARKS.md)
records, and exits 1 if a build is missing, if a `.text` or its RAM (`.data` + `.bss`, and
the state sizes of the third table) grew by more than MARGIN over its figure, or if a budget
line (what encryption adds, against its budget) reads otherwise than the one recorded: a
size regression, or a budget newly missed or missed by more, cannot land unnoticed.
Re-measure and update the tables when a change is meant."""

import re
import struct
import subprocess
import sys
from pathlib import Path

TARGETS = ["thumbv7em-none-eabihf", "thumbv6m-none-eabi", "riscv32imc-unknown-none-elf"]
# (binary, label, build directory under target/): the minimal client is the `client` binary
# built with `--no-default-features` into target/minimal.
BINS = [
    ("client", "minimal client (no who, no echo)", "minimal"),
    ("client", "full client", ""),
    ("server", "server, 8 users", ""),
    ("chat", "server + client (the proof)", ""),
    ("smoltcp", "client on smoltcp", ""),
    ("secure", "secure session's crypto alone (NK, NKpsk0)", ""),
    ("client", "secure client (full, encrypted sessions)", "secure"),
    ("server", "secure server, 8 users (encrypted sessions)", "secure"),
]
# What encryption adds (issue 13's budget: at most 8 KiB on top of the plaintext client):
# (secure build's label, plaintext build's label, budget in bytes or None).
SECURE_COST = [
    ("secure client (full, encrypted sessions)", "full client", 8192),
    ("secure server, 8 users (encrypted sessions)", "server, 8 users", None),
]
LABELS = [label for _, label, _ in BINS]
HERE = Path(__file__).resolve().parent


def sections(path):
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            sizes[m.group(1)] = int(m.group(2), 16)
    return sizes


def state_sizes(path):
    out = subprocess.run(["readelf", "-x", ".minichat_sizes", str(path)], capture_output=True, text=True, check=True).stdout
    words = []
    for line in out.splitlines():
        m = re.match(r"\s*0x[0-9a-f]+\s+((?:[0-9a-f]{8}\s+){1,4})", line)
        if m:
            words += m.group(1).split()
    raw = bytes.fromhex("".join(words))
    return struct.unpack("<%dI" % (len(raw) // 4), raw)


# Growth allowed before the check fails: the sizes move by a few bytes with the checkout's
# path, and a small change should not need a new table.
MARGIN = 0.02


def number(cell):
    return int(cell.replace(",", ""))


def recorded(path):
    """What BENCHMARKS.md records: (target, build) -> (.text, .data + .bss) from the first
    footprint table; (target, line) -> budget cell from the table of what encryption adds;
    target -> the state sizes' row."""
    sizes, budgets, states = {}, {}, {}
    secure_lines = {f"{secure.split(' (')[0]} over {plain}" for secure, plain, _ in SECURE_COST}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in TARGETS and cells[1] in LABELS:
            sizes.setdefault((cells[0], cells[1]), (number(cells[2]), number(cells[4])))
        elif len(cells) == 4 and cells[0] in TARGETS and cells[1] in secure_lines:
            budgets.setdefault((cells[0], cells[1]), cells[3])
        elif len(cells) == 8 and cells[0] in TARGETS and cells[1].replace(",", "").isdigit():
            states.setdefault(cells[0], [number(c) for c in cells[1:]])
    return sizes, budgets, states


def grew(now, then):
    return now > then * (1 + MARGIN)


def main():
    check = None
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check = recorded(sys.argv[2])
    failed = []
    print("| target | build | `.text` | `.rodata` | `.data` + `.bss` |")
    print("|---|---|---:|---:|---:|")
    for target in TARGETS:
        for name, what, build in BINS:
            path = HERE / "target" / build / target / "release" / name
            if not path.exists():
                print(f"missing {path}", file=sys.stderr)
                failed.append(f"{target} {what}: not built ({path})")
                continue
            s = sections(path)
            text, ram = s.get(".text", 0), s.get(".data", 0) + s.get(".bss", 0)
            print(f"| {target} | {what} | {text:,} | {s.get('.rodata', 0):,} | {ram:,} |")
            if check is not None:
                known = check[0].get((target, what))
                if known is None:
                    failed.append(f"{target} {what}: no recorded size")
                    continue
                if grew(text, known[0]):
                    failed.append(f"{target} {what}: .text {text:,} B, recorded {known[0]:,} B")
                if grew(ram, known[1]):
                    failed.append(f"{target} {what}: .data + .bss {ram:,} B, recorded {known[1]:,} B")
    print()
    print("| target | what encryption adds | `.text` | budget |")
    print("|---|---|---:|---|")
    for target in TARGETS:
        for secure, plain, budget in SECURE_COST:
            line = f"{secure.split(' (')[0]} over {plain}"
            paths = [HERE / "target" / build / target / "release" / name
                     for name, what, build in BINS if what in (secure, plain)]
            if not all(p.exists() for p in paths):
                failed.append(f"{target} {line}: not built")
                continue
            sizes = {what: sections(HERE / "target" / build / target / "release" / name).get(".text", 0)
                     for name, what, build in BINS if what in (secure, plain)}
            added = sizes[secure] - sizes[plain]
            verdict = "—" if budget is None else (
                f"{budget // 1024} KiB: met" if added <= budget else f"{budget // 1024} KiB: missed, {added / budget:.1f}×")
            print(f"| {target} | {line} | {added:,} | {verdict} |")
            if check is not None:
                known = check[1].get((target, line))
                if known is None:
                    failed.append(f"{target} {line}: no recorded budget line")
                elif known != verdict:
                    failed.append(f"{target} {line}: budget {verdict!r}, recorded {known!r}")
    print()
    print("| target | `StaticServer<8, 16, _, 2048, 0>` | per user slot | per user slot, serial | per ring entry | ring arena | without users and ring | `Client<4, 4, 4>` |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for target in TARGETS:
        path = HERE / "target" / target / "release" / "chat"
        if not path.exists():
            failed.append(f"{target} state sizes: not built ({path})")
            continue
        server, no_users, no_entries, no_ring, client, serial, serial_no_users = state_sizes(path)[:7]
        bare = no_ring - 8 * ((server - no_users) // 8)
        row = [server, (server - no_users) // 8, (serial - serial_no_users) // 8,
               (server - no_entries) // 16, no_entries - no_ring, bare, client]
        print(f"| {target} | " + " | ".join(f"{x:,}" for x in row) + " |")
        if check is not None:
            known = check[2].get(target)
            if known is None:
                failed.append(f"{target} state sizes: not recorded")
            elif any(grew(x, k) for x, k in zip(row, known)):
                failed.append(f"{target} state sizes (RAM): {row}, recorded {known}")
    if failed:
        print(f"\nthe firmware's footprint against {sys.argv[2] if check else 'its builds'}:", file=sys.stderr)
        for line in failed:
            print(f"  {line}", file=sys.stderr)
        if check is not None:
            sys.exit(1)


if __name__ == "__main__":
    main()
