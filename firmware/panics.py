#!/usr/bin/env python3
"""Where a firmware build can still panic, by the crate whose code holds the branch.

The programs that link with panic-never prove at link time that nothing can panic. A
build that links crates outside that proof (the secure build: the crypto crates have
panicking branches of their own) gets an ordinary handler instead; this script keeps the
proof for everything else. It disassembles the program, finds every call to a panic entry
(`core::panicking::*`, `unwrap_failed`, `expect_failed`, the slice index failures, ...),
and asks the debug line tables (llvm-addr2line, with the chain of inlined frames) whose
source each call comes from: the innermost frame outside Rust's own library names the
crate. A call in Rust's library alone (a generic helper it did not inline) passes the
question to the calls of that helper.

    python3 panics.py ELF [--allowed LIST]

Prints the panicking sites by crate, each with its source (`CRATE PATH:LINE`, the path in
the crate's package), and exits 1 if one is not in LIST, the program's own list of sites
it may keep (one `CRATE PATH:LINE` a line; `#` starts a comment): a new panicking branch
in a crate already allowed fails as one in a new crate does, and minichat's own crates,
and the program itself, are never allowed. It exits 1 too if it finds no panic entry at
all: the program links an ordinary panic handler, so none found means the search is
broken, not that the program is proved. `--print-list` prints the sites as a list, to
start or review one. Needs the build's debug info, and llvm-objdump, llvm-nm and
llvm-addr2line (Debian's `llvm`).
"""

import bisect
import collections
import re
import shutil
import subprocess
import sys

# Also as they read in Rust's v0 mangling (`_RNvNtCs…4core9panicking9panic_fmt`).
ENTRIES = re.compile(
    r"panicking|panic_fmt|unwrap_failed|expect_failed|slice_index_fail|slice_end_index"
    r"|slice_start_index|len_mismatch_fail|panic_bounds_check|rust_begin_unwind|str_index_overflow"
)


def tool(name):
    found = shutil.which(name)
    if not found:
        sys.exit(f"panics.py: no {name} (Debian's `llvm` package)")
    return found


def functions(elf):
    """(start, end, name) of every function, by address (mapping symbols left out)."""
    out = subprocess.run(
        [tool("llvm-nm"), "-S", "--defined-only", "--demangle", elf],
        capture_output=True, text=True, check=True,
    ).stdout
    found = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in "tTwW" and not parts[3].startswith("$"):
            start = int(parts[0], 16) & ~1  # the Thumb bit
            found.append((start, start + int(parts[1], 16), parts[3]))
    return sorted(found)


def calls(elf):
    """(address of the call, address called) for every call and branch to a symbol: an
    annotated target (Arm, x86), or a RISC-V `auipc` and `jalr` pair, computed."""
    text = subprocess.run(
        [tool("llvm-objdump"), "-d", "--no-show-raw-insn", elf], capture_output=True, text=True, check=True
    ).stdout
    found = []
    auipc = {}  # register -> (address, upper immediate)
    for line in text.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s+(.*)$", line)
        if not m:
            continue
        at, op, operands = int(m.group(1), 16), m.group(2), m.group(3)
        target = re.search(r"(?:0x)?([0-9a-f]+) <[^>]*>", operands)
        if target and re.match(r"^(bl|blx|b|b\.w|jal|j|call|tail|c\.j|c\.jal)$", op):
            found.append((at, int(target.group(1), 16)))
        elif op == "auipc":
            reg, imm = [x.strip() for x in operands.split(",")]
            imm = int(imm, 0)
            auipc[reg] = (at, imm - (1 << 20) if imm >= 1 << 19 else imm)
        elif op == "jalr":
            jm = re.match(r"^(?:\w+,\s*)?(-?\d+)\((\w+)\)", operands)
            if jm and jm.group(2) in auipc:
                base, upper = auipc.pop(jm.group(2))
                found.append((at, base + (upper << 12) + int(jm.group(1))))
    return found


def frames(elf, address):
    """The chain of inlined frames at `address`, innermost first: (function, file:line)."""
    out = subprocess.run(
        [tool("llvm-addr2line"), "-f", "-i", "-C", "-e", elf, hex(address)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return list(zip(out[0::2], out[1::2]))


def site_of_path(path):
    """`PATH:LINE` within its crate's package, for a registry crate; else the file's name."""
    m = re.search(r"/registry/src/[^/]+/[A-Za-z0-9_\-]+?-\d+\.\d+\.\d+[^/]*/(.*)$", path)
    return m.group(1) if m else path.rsplit("/", 1)[-1]


def crate_of_path(path):
    if "/library/" in path and ("/rustc/" in path or "/rustlib/" in path):
        return None  # Rust's own library: look further out
    m = re.search(r"/registry/src/[^/]+/([A-Za-z0-9_\-]+?)-\d+\.\d+\.\d+[^/]*/", path)
    if m:
        return m.group(1).replace("-", "_")
    if re.search(r"/core/src/", path):
        return "minichat_core"
    if re.search(r"/firmware(/qemu)?/src/", path):
        return "minichat_firmware"
    return "?" + path


def holders(elf):
    """crate -> {site (`PATH:LINE`) -> functions}: the panicking calls in its code."""
    funcs = functions(elf)
    starts = [f[0] for f in funcs]

    def containing(address):
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and funcs[i][0] <= address < max(funcs[i][1], funcs[i][0] + 1):
            return funcs[i]
        return None

    callers = collections.defaultdict(list)  # address called -> call addresses
    for at, target in calls(elf):
        callers[target].append(at)
    by_crate = collections.defaultdict(lambda: collections.defaultdict(set))
    todo = [f for f in funcs if ENTRIES.search(f[2])]
    if not todo:
        sys.exit(f"panics.py: no panic entry found in {elf}: the search is broken (or the "
                 "names of the entries changed), so nothing is proved")
    seen = set(todo)
    while todo:
        func = todo.pop()
        for at in callers.get(func[0], ()):
            chain = frames(elf, at)
            holder = next(((fn, loc, crate_of_path(loc)) for fn, loc in chain if crate_of_path(loc)), None)
            if holder:
                fn, loc, crate = holder
                by_crate[crate][site_of_path(loc)].add(re.sub(r'::h[0-9a-f]{16}$', '', fn)[:110])
                continue
            # Only Rust's library here: a generic helper that panics; its callers hold it.
            outer = containing(at)
            if outer and outer not in seen and not ENTRIES.search(outer[2]):
                seen.add(outer)
                todo.append(outer)
    return by_crate


def allowed_sites(path):
    sites = set()
    with open(path) as file:
        for line in file:
            line = line.split("#", 1)[0].strip()
            if line:
                sites.add(" ".join(line.split()))
    return sites


def main():
    args = sys.argv[1:]
    if not args or args[1:2] not in ([], ["--allowed"], ["--print-list"]):
        sys.exit(__doc__)
    elf = args[0]
    allowed = allowed_sites(args[2]) if args[1:2] == ["--allowed"] else set()
    by_crate = holders(elf)
    if args[1:2] == ["--print-list"]:
        for crate in sorted(by_crate):
            for site in sorted(by_crate[crate]):
                print(f"{crate} {site}")
        return
    bad = []
    for crate in sorted(by_crate):
        print(f"{crate}:")
        for site in sorted(by_crate[crate]):
            ok = not crate.startswith("minichat") and f"{crate} {site}" in allowed
            print(f"    {site}: {', '.join(sorted(by_crate[crate][site]))}" + ("" if ok else "  (not allowed)"))
            if not ok:
                bad.append(f"{crate} {site}")
    if not by_crate:
        print("no panicking branch")
    if bad:
        print(f"panics.py: panicking branches not in the program's list: {', '.join(bad)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
