#!/usr/bin/env python3
"""Prints the footprint of the firmware builds as a Markdown table.

Section sizes come from `readelf -S` (any ELF target); the state sizes from the
`.minichat_sizes` section the `chat` binary carries, computed by the compiler for the
target itself. Run after `./build.sh` (or CI's firmware step)."""

import re
import struct
import subprocess
import sys
from pathlib import Path

TARGETS = ["thumbv7em-none-eabihf", "thumbv6m-none-eabi", "riscv32imc-unknown-none-elf"]
BINS = {"client": "client only", "server": "server, 8 users", "chat": "server + client (the proof)", "smoltcp": "client on smoltcp"}
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


def main():
    print("| target | build | `.text` | `.rodata` | `.data` + `.bss` |")
    print("|---|---|---:|---:|---:|")
    for target in TARGETS:
        for name, what in BINS.items():
            path = HERE / "target" / target / "release" / name
            if not path.exists():
                print(f"missing {path}", file=sys.stderr)
                continue
            s = sections(path)
            print(f"| {target} | {what} | {s.get('.text', 0):,} | {s.get('.rodata', 0):,} | {s.get('.data', 0) + s.get('.bss', 0):,} |")
    print()
    print("| target | `Server<8, 16>` | per user slot | per ring entry | `Server<8, 0>` | `Client<4, 4, 4>` |")
    print("|---|---:|---:|---:|---:|---:|")
    for target in TARGETS:
        path = HERE / "target" / target / "release" / "chat"
        if not path.exists():
            continue
        server, no_users, no_ring, client = state_sizes(path)[:4]
        print(f"| {target} | {server:,} | {(server - no_users) // 8:,} | {(server - no_ring) // 16:,} | {no_ring:,} | {client:,} |")


if __name__ == "__main__":
    main()
