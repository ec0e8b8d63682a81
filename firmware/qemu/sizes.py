"""Prints the size of the QEMU firmware programs as a Markdown table: each program's
`.text`, `.rodata` and static RAM (`.data` + `.bss`: its state, in statics; the stack
comes on top, measured on the board with `--features ram-report`) on every Cortex-M
target; the compiler-builtins memory routines it links (`memcpy`, `memset`, `memclr`, `memmove`,
`memcmp`: what a C firmware gets from its libc, reported apart as coreMQTT's figures are);
and the protocol's own share: its `.text` less `qemu-baseline`'s (the same runtime, clock,
UART driver and log without minichat) and less those routines. The client comes twice: the
minimal one (the default build), the full one (`--features full`, built into
`target/full`) and the secure one (`--features secure`, encrypted sessions, built into
`target/secure`). Run after building for each target (CI's firmware-on-QEMU step). A second table gives
the whole minimal client as it sits in flash (vector table, `.text` and `.rodata`: runtime,
UART driver, framing and all) against the design's 10 KiB for it.

With `--check FILE` it compares what it measured with what FILE (BENCHMARKS.md, "Firmware
on QEMU") records, and exits 1 if a program's `.text` or its static RAM (`.data` + `.bss`)
grew by more than 2%, or if a budget line (the protocol's share, the whole client in flash) reads
otherwise than the one recorded: a budget newly missed, or missed by more, fails."""

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import MARGIN, sections  # noqa: E402  (the footprint report's ELF reader)

TARGETS = ["thumbv6m-none-eabi", "thumbv7m-none-eabi", "thumbv7em-none-eabihf"]
# (label, program, build directory under target/, budget for the protocol's share)
PROGRAMS = [
    ("baseline (runtime, UART, log)", "qemu-baseline", "", None),
    ("minimal client (`qemu-chat`)", "qemu-chat", "", 8192),
    ("full client (`qemu-chat --features full`)", "qemu-chat", "full", None),
    ("secure client (`qemu-chat --features secure`)", "qemu-chat", "secure", None),
    ("secure client with its own key (`--features client-keys`)", "qemu-chat", "client-keys", None),
    ("server, 8 users (`qemu-server`)", "qemu-server", "", 16384),
]
LABELS = [label for label, *_ in PROGRAMS]
HERE = Path(__file__).resolve().parent
MEM_ROUTINE = re.compile(r"mem(cpy|set|clr|move|cmp)")


def path(target, program, build):
    return HERE / "target" / build / target / "release" / program


def mem_routines(elf):
    """Bytes of the memory routines compiler-builtins linked into `elf`."""
    out = subprocess.run(["readelf", "-s", "-W", str(elf)], capture_output=True, text=True, check=True).stdout
    total = 0
    for line in out.splitlines():
        cells = line.split()
        if len(cells) >= 8 and cells[3] == "FUNC" and MEM_ROUTINE.search(cells[7]):
            total += int(cells[2], 0)
    return total


def measure():
    rows = []
    for target in TARGETS:
        base = sections(path(target, "qemu-baseline", "")).get(".text", 0)
        for label, program, build, budget in PROGRAMS:
            elf = path(target, program, build)
            s = sections(elf)
            text, rodata = s.get(".text", 0), s.get(".rodata", 0)
            static_ram = s.get(".data", 0) + s.get(".bss", 0)
            mem = mem_routines(elf)
            share = None if program == "qemu-baseline" else text - base - mem
            rows.append((target, label, text, rodata, static_ram, mem, share, budget))
    return rows


# The design's target: "the whole QEMU client firmware with runtime, UART driver and framing <= 10 KiB".
WHOLE_CLIENT_BUDGET = 10240
FLASH = (".vector_table", ".text", ".rodata")


def whole_client():
    """(target, bytes in flash) of the minimal client, the whole program."""
    return [(t, sum(sections(path(t, "qemu-chat", "")).get(name, 0) for name in FLASH)) for t in TARGETS]


def recorded(path):
    """(target, label) -> (.text, static RAM, budget cell) of the first table; target -> the
    budget cell of the whole client in flash."""
    sizes, whole = {}, {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0] in TARGETS and cells[1] in LABELS:
            sizes[(cells[0], cells[1])] = (int(cells[2].replace(",", "")), int(cells[4].replace(",", "")), cells[7])
        elif len(cells) == 3 and cells[0] in TARGETS and cells[1].replace(",", "").isdigit():
            whole[cells[0]] = cells[2]
    return sizes, whole


def verdict(share, budget):
    if share is None or budget is None:
        return "—"
    met = "met" if share <= budget else f"missed, {share / budget:.1f}×"
    return f"{budget // 1024} KiB: {met}"


def main():
    rows = measure()
    print("| target | program | `.text` | `.rodata` | static RAM (`.data` + `.bss`) | memory routines | protocol's share | budget |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for target, label, text, rodata, static_ram, mem, share, budget in rows:
        shown = "—" if share is None else f"{share:,}"
        print(f"| {target} | {label} | {text:,} | {rodata:,} | {static_ram:,} | {mem:,} | {shown} | {verdict(share, budget)} |")
    print()
    print("| target | the whole minimal client in flash (vector table, `.text`, `.rodata`) | budget |")
    print("|---|---:|---|")
    for target, flash in whole_client():
        print(f"| {target} | {flash:,} | {verdict(flash, WHOLE_CLIENT_BUDGET)} |")
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        known, whole = recorded(sys.argv[2])
        failed = []
        for t, l, text, _, static_ram, _, share, budget in rows:
            if (t, l) not in known:
                failed.append(f"{t} {l}: not recorded in {sys.argv[2]}")
                continue
            k_text, k_static, k_budget = known[(t, l)]
            if text > k_text * (1 + MARGIN):
                failed.append(f"{t} {l}: .text {text:,} B, recorded {k_text:,} B (more than 2% over)")
            if static_ram > k_static * (1 + MARGIN):
                failed.append(f"{t} {l}: static RAM (.data + .bss) {static_ram:,} B, recorded {k_static:,} B "
                              "(more than 2% over)")
            if verdict(share, budget) != k_budget:
                failed.append(f"{t} {l}: budget {verdict(share, budget)!r}, recorded {k_budget!r}")
        for t, flash in whole_client():
            if whole.get(t) != verdict(flash, WHOLE_CLIENT_BUDGET):
                failed.append(f"{t} whole client in flash: budget {verdict(flash, WHOLE_CLIENT_BUDGET)!r}, "
                              f"recorded {whole.get(t)!r}")
        for line in failed:
            print(line, file=sys.stderr)
        if failed:
            sys.exit(1)


if __name__ == "__main__":
    main()
