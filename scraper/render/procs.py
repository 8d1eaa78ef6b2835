"""The browser's processes and their memory, read from /proc (Linux).

Chromium runs as many processes (browser, renderers, GPU, utility); the memory cap and
the leftover-process checks need them all: every descendant of a process whose name
says it is Chromium.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    name: str
    rss: int  # bytes


def read_proc(pid: int) -> Proc | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        statm = (PROC / str(pid) / "statm").read_text().split()
    except (OSError, ValueError):
        return None
    # "pid (name) state ppid ...": the name may hold spaces and parentheses.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return Proc(pid, int(fields[1]), name, 0)
    return Proc(pid, int(fields[1]), name, int(statm[1]) * PAGE_SIZE if len(statm) > 1 else 0)


def all_procs() -> list[Proc]:
    found = []
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if entry.name.isdigit():
            proc = read_proc(int(entry.name))
            if proc is not None:
                found.append(proc)
    return found


def descendants(pid: int, procs: list[Proc] | None = None) -> list[Proc]:
    """Every process below ``pid`` (children, their children, ...)."""
    table = procs if procs is not None else all_procs()
    children: dict[int, list[Proc]] = {}
    for proc in table:
        children.setdefault(proc.ppid, []).append(proc)
    found: list[Proc] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child.pid)
    return found


def is_chromium(proc: Proc) -> bool:
    return "chrom" in proc.name.lower()


def chromium_below(pid: int) -> list[Proc]:
    """The Chromium processes under ``pid``, with what runs below them (crashpad and all)."""
    below = descendants(pid)
    roots = {p.pid for p in below if is_chromium(p)}
    return [p for p in below if p.pid in roots or is_chromium(p)]


def rss_of(procs: list[Proc]) -> int:
    """The memory of ``procs`` together: the sum of their proportional set sizes (a page
    shared by n processes counts 1/n in each; summing plain RSS would count Chromium's
    shared libraries once per process), plain RSS where /proc does not say."""
    return sum(_pss(p) for p in procs)


def _pss(proc: Proc) -> int:
    try:
        rollup = (PROC / str(proc.pid) / "smaps_rollup").read_text()
    except OSError:
        return proc.rss
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return proc.rss
