#!/usr/bin/env python3
"""Prints the footprint of the firmware builds as a Markdown table.

Section sizes come from `readelf -S` (any ELF target); the state sizes from the
`.minichat_sizes` section the `chat` binary carries, computed by the compiler for the
target itself. Run after the builds of BENCHMARKS.md, "Reproduce" (CI's firmware step).

With `--check FILE` it also compares every `.text` size with the figure recorded in FILE
(BENCHMARKS.md's first table) and exits 1 if one grew by more than MARGIN, so a size
regression cannot land unnoticed: re-measure and update the table when growth is meant."""

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


def recorded_text_sizes(path):
    """(target, build) -> .text, from the first footprint table of BENCHMARKS.md."""
    sizes = {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in TARGETS and cells[1] in LABELS:
            sizes.setdefault((cells[0], cells[1]), int(cells[2].replace(",", "")))
    return sizes


def main():
    check = None
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check = recorded_text_sizes(sys.argv[2])
    grown = []
    print("| target | build | `.text` | `.rodata` | `.data` + `.bss` |")
    print("|---|---|---:|---:|---:|")
    for target in TARGETS:
        for name, what, build in BINS:
            path = HERE / "target" / build / target / "release" / name
            if not path.exists():
                print(f"missing {path}", file=sys.stderr)
                continue
            s = sections(path)
            print(f"| {target} | {what} | {s.get('.text', 0):,} | {s.get('.rodata', 0):,} | {s.get('.data', 0) + s.get('.bss', 0):,} |")
            if check is not None:
                recorded = check.get((target, what))
                if recorded is None:
                    grown.append(f"{target} {what}: no recorded size")
                elif s.get(".text", 0) > recorded * (1 + MARGIN):
                    grown.append(f"{target} {what}: .text {s.get('.text', 0):,} B, recorded {recorded:,} B")
    print()
    print("| target | what encryption adds | `.text` | budget |")
    print("|---|---|---:|---|")
    for target in TARGETS:
        for secure, plain, budget in SECURE_COST:
            paths = [HERE / "target" / build / target / "release" / name
                     for name, what, build in BINS if what in (secure, plain)]
            if not all(p.exists() for p in paths):
                continue
            sizes = {what: sections(HERE / "target" / build / target / "release" / name).get(".text", 0)
                     for name, what, build in BINS if what in (secure, plain)}
            added = sizes[secure] - sizes[plain]
            verdict = "—" if budget is None else (
                f"{budget // 1024} KiB: met" if added <= budget else f"{budget // 1024} KiB: missed, {added / budget:.1f}×")
            print(f"| {target} | {secure.split(' (')[0]} over {plain} | {added:,} | {verdict} |")
    print()
    print("| target | `StaticServer<8, 16, _, 2048, 0>` | per user slot | per user slot, serial | per ring entry | ring arena | without users and ring | `Client<4, 4, 4>` |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for target in TARGETS:
        path = HERE / "target" / target / "release" / "chat"
        if not path.exists():
            continue
        server, no_users, no_entries, no_ring, client, serial, serial_no_users = state_sizes(path)[:7]
        bare = no_ring - 8 * ((server - no_users) // 8)
        print(f"| {target} | {server:,} | {(server - no_users) // 8:,} | {(serial - serial_no_users) // 8:,} | "
              f"{(server - no_entries) // 16:,} | {no_entries - no_ring:,} | {bare:,} | {client:,} |")
    if grown:
        print(f"\nfirmware grew by more than {MARGIN:.0%} over BENCHMARKS.md:", file=sys.stderr)
        for line in grown:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
