"""The daemon at scale: ``python bench/scale.py [--articles N ...] [--sources S] [--seconds T]``.

For each archive size it:

1. takes an archive of that many known articles from ``bench/archive_scale.py``'s builder
   (cached in the temp dir, shared with that bench), copies it, and points its articles at
   the farm (their sources keep their names ``s0``, ``s1``, ..., which the config uses too);
2. starts a farm of ``--sources`` loopback hosts (127.10.x.y, one listening socket each, one
   asyncio process answering them all): each host serves ``/robots.txt``, a feed
   (``/feed.xml``, even hosts) or a sitemap (``/sitemap.xml``, odd hosts) of ``--links`` new
   article links, and any ``/story/...`` page, with an ETag (and 304 to ``If-None-Match``);
3. runs the real daemon, ``scraper run`` in a subprocess, on a config of one source per
   host (every 15m, the shipped defaults otherwise): a cold start, every source due at once
   and every link new to the archive; after ``--seconds`` it sends SIGTERM;
4. prints the peak memory of the daemon and its extraction workers (RSS summed, and PSS,
   which counts the pages a forked worker shares with the daemon once; sampled from /proc
   every 0.2 s), the fetches per second it committed, its CPU share (daemon and workers, of
   one core), the scheduler lag ``scraper status`` reports (how late fetches started after
   they were due), how many discovered articles wait in the archive's queue, and
5. the time of each Datasette page (``archive_scale.time_pages``) on the archive as the run
   left it, through a real ``archive serve``.

A short default: ``python bench/scale.py`` runs 10^3 articles for 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import archive_scale

from archive import monitor
from archive.db import open_reader

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_PARAGRAPHS = 6


def address(host: int) -> str:
    """The loopback address of farm host ``host`` (up to 62,500 hosts)."""
    return f"127.10.{host // 250}.{host % 250 + 1}"


# -- the farm --------------------------------------------------------------------------------


def _robots() -> bytes:
    rules = "".join(f"Disallow: /private/{n}/\n" for n in range(20))
    return f"User-agent: *\n{rules}Allow: /\n".encode()


def _listing(host: int, port: int, links: int) -> tuple[bytes, bytes]:
    base = f"http://{address(host)}:{port}"
    urls = [f"{base}/story/{host}-{n}-harbour-council-report.html" for n in range(links)]
    if host % 2 == 0:
        items = "".join(
            f"<item><title>Story {n}</title><link>{u}</link>"
            f"<pubDate>Sun, 06 Dec 2026 10:{n % 60:02d}:00 GMT</pubDate></item>"
            for n, u in enumerate(urls)
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Farm news</title>'
            f"<link>{base}/</link>{items}</channel></rss>"
        )
        return b"application/rss+xml", body.encode()
    entries = "".join(
        f"<url><loc>{u}</loc><lastmod>2026-12-06T10:{n % 60:02d}:00Z</lastmod></url>"
        for n, u in enumerate(urls)
    )
    body = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{entries}</urlset>"
    )
    return b"application/xml", body.encode()


def _page(path: str) -> bytes:
    words = archive_scale._WORDS
    seed = sum(path.encode())
    paragraphs = "".join(
        "<p>"
        + " ".join(words[(seed + p * 7 + w) % len(words)] for w in range(40)).capitalize()
        + ", the harbour council said on Monday.</p>"
        for p in range(PAGE_PARAGRAPHS)
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Report {path}</title></head><body><nav><a href=/>Home</a></nav>"
        f"<article><h1>Report {path}</h1>{paragraphs}</article>"
        "<footer>Farm news</footer></body></html>"
    ).encode()


def _response(status: bytes, body: bytes, content_type: bytes, etag: bytes) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type
        + b"\r\nContent-Length: " + str(len(body)).encode()
        + b'\r\nETag: "' + etag + b'"\r\nConnection: keep-alive\r\n\r\n'
    )  # fmt: skip
    return head + body


async def _serve_farm(hosts: int, port: int, links: int, ready: Path) -> None:
    robots = _robots()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = _host_of(writer.get_extra_info("sockname")[0])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *fields = head.decode("latin-1").split("\r\n")
                path = line.split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (f.partition(":") for f in fields if f)}  # fmt: skip
                etag = str(abs(hash(path)) % 10**9).encode()
                if headers.get("if-none-match", "").strip('"') == etag.decode():
                    writer.write(_response(b"304 Not Modified", b"", b"text/plain", etag))
                elif path == "/robots.txt":
                    writer.write(_response(b"200 OK", robots, b"text/plain", etag))
                elif path in ("/feed.xml", "/sitemap.xml"):
                    kind, body = _listing(host, port, links)
                    writer.write(_response(b"200 OK", body, kind, etag))
                elif path.startswith("/story/"):
                    page = _page(path)
                    writer.write(_response(b"200 OK", page, b"text/html; charset=utf-8", etag))
                else:
                    writer.write(_response(b"404 Not Found", b"", b"text/plain", etag))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(
        answer, host=[address(h) for h in range(hosts)], port=port, backlog=64
    )
    ready.write_text("ready")
    async with server:
        await server.serve_forever()


def _host_of(ip: str) -> int:
    _, _, third, fourth = ip.split(".")
    return int(third) * 250 + int(fourth) - 1


@contextmanager
def farm(hosts: int, links: int) -> Iterator[int]:
    """The farm in a process of its own; yields its port."""
    port = archive_scale._free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        args = [sys.executable, __file__, "--farm", str(hosts), str(port), str(links), str(ready)]
        child = subprocess.Popen(args)
        try:
            deadline = time.monotonic() + 120
            while not ready.exists():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the farm did not start")
                time.sleep(0.1)
            yield port
        finally:
            child.terminate()
            child.wait(timeout=30)


# -- the archive and the config ---------------------------------------------------------------


def prepare_archive(articles: int, port: int, into: Path) -> Path:
    """A copy of the builder's archive of ``articles`` articles, its URLs on the farm."""
    path = into / f"scale-{articles}.db"
    if articles == 0:
        return path
    shutil.copyfile(archive_scale.cached(articles), path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # The builder's articles are https://news{s}.example/story/{id}.html of source s{s}.
        conn.execute(
            "UPDATE articles SET url = 'http://127.10.' || (substr(source, 2) / 250) || '.'"
            f" || (substr(source, 2) % 250 + 1) || ':{port}/story/' || id || '.html'"
        )
    finally:
        conn.close()
    return path


def write_config(path: Path, archive: Path, sources: int, port: int) -> Path:
    lines = [
        f'[archive]\npath = "{archive}"\nmin_free = "0"\n',
    ]
    for s in range(sources):
        listing = "feed" if s % 2 == 0 else "sitemap"
        url = f"http://{address(s)}:{port}/{'feed' if s % 2 == 0 else 'sitemap'}.xml"
        lines.append(f'[[sources]]\nname = "s{s}"\nurl = "{url}"\nkind = "{listing}"')
        lines.append('every = "15m"\n')
    config = path / "config.toml"
    config.write_text("\n".join(lines))
    return config


# -- measuring the daemon ----------------------------------------------------------------------


@dataclass
class Sample:
    peak_rss: int = 0  # bytes, daemon + workers
    peak_main_rss: int = 0  # the daemon alone
    peak_pss: int = 0
    peak_processes: int = 0
    cpu_s: float = 0.0  # daemon + workers, user + system


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found = [pid]
    for parent in found:
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                found.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def _kib(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_s(pid: int, reaped: bool) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # of children it has waited for
    return ticks / CLOCK_TICKS


def sample_family(pid: int, into: Sample, stop: threading.Event) -> None:
    while not stop.is_set():
        rss = pss = 0
        cpu = 0.0
        family = _family(pid)
        for member in family:
            try:
                member_rss = _kib(Path(f"/proc/{member}/status"), "VmRSS:")
                rss += member_rss
                if member == pid:
                    into.peak_main_rss = max(into.peak_main_rss, member_rss)
                pss += _kib(Path(f"/proc/{member}/smaps_rollup"), "Pss:")
                cpu += _cpu_s(member, reaped=member == pid)
            except (OSError, ValueError, IndexError):
                continue
        into.peak_rss = max(into.peak_rss, rss)
        into.peak_pss = max(into.peak_pss, pss)
        into.peak_processes = max(into.peak_processes, len(family))
        into.cpu_s = max(into.cpu_s, cpu)
        stop.wait(0.2)


def run_daemon(config: Path, seconds: float, log: Path) -> tuple[Sample, float, float]:
    """``scraper run`` for ``seconds``, then SIGTERM; (sample, wall seconds, stop seconds)."""
    sample = Sample()
    stop = threading.Event()
    with log.open("w") as out:
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-c", "from scraper.cli import main; main()", "run",
             "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        sampler = threading.Thread(target=sample_family, args=(child.pid, sample, stop))
        sampler.start()
        try:
            child.wait(timeout=seconds)
            raise RuntimeError(f"scraper run exited early ({child.returncode}); see {log}")
        except subprocess.TimeoutExpired:
            pass
        asked = time.monotonic()
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)
        ended = time.monotonic()
        stop.set()
        sampler.join()
    return sample, asked - started, ended - asked


@dataclass(frozen=True)
class Counts:
    fetches: int
    source_fetches: int
    articles: int
    waiting: int  # known, never fetched, not claimed: the discovered backlog in SQLite


def counts(path: Path, since: str) -> Counts:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        fetches, sources = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE article_id IS NULL)"
            " FROM fetches WHERE started_at >= ?",
            (since,),
        ).fetchone()
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        waiting = conn.execute(
            "SELECT count(*) FROM articles WHERE last_checked IS NULL"
        ).fetchone()[0]
    finally:
        conn.close()
    return Counts(fetches, sources, articles, waiting)


def measure(
    size: int, sources: int, links: int, seconds: float, pages: bool, log: Path
) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory(prefix="newsarchive-scale-run-") as tmp,
        farm(sources, links) as port,
    ):
        folder = Path(tmp)
        path = prepare_archive(size, port, folder)
        config = write_config(folder, path, sources, port)
        since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        sample, wall, stopping = run_daemon(config, seconds, log)
        done = counts(path, since)
        conn = open_reader(path)
        try:
            lag = monitor.scheduler_lag(conn, datetime.now(UTC), window_s=wall + stopping + 5)
        finally:
            conn.close()
        row: dict[str, object] = {
            "articles": size,
            "sources": sources,
            "seconds": round(wall, 1),
            "peak_rss_mb": round(sample.peak_rss / 2**20),
            "peak_pss_mb": round(sample.peak_pss / 2**20),
            "peak_daemon_rss_mb": round(sample.peak_main_rss / 2**20),
            "processes": sample.peak_processes,
            "cpu_share": round(sample.cpu_s / (wall + stopping), 2),
            "fetches_per_s": round(done.fetches / wall, 1),
            "source_fetches": done.source_fetches,
            "article_fetches": done.fetches - done.source_fetches,
            "lag_p50_s": lag.p50_s,
            "lag_p95_s": lag.p95_s,
            "lag_max_s": lag.max_s,
            "known_articles": done.articles,
            "waiting_in_sqlite": done.waiting,
            "stop_s": round(stopping, 1),
        }
        if pages:
            with archive_scale.served(path) as base:
                row["pages_ms"] = {
                    name: None if t is None else round(t * 1000)
                    for name, t in archive_scale.time_pages(base, path.stem, "s0").items()
                }
        return row


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--farm":
        hosts, port, links = (int(a) for a in sys.argv[2:5])
        asyncio.run(_serve_farm(hosts, port, links, Path(sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--articles", type=int, nargs="+", default=[1000],
        help="known articles in the archive (0: an empty one); one run each",
    )  # fmt: skip
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--links", type=int, default=100, help="new links per feed/sitemap")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--log-dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the daemon's log is kept (scale-N-daemon.log)")  # fmt: skip
    parser.add_argument("--no-pages", action="store_true", help="skip the Datasette pages")
    args = parser.parse_args()
    for size in args.articles:
        log = args.log_dir / f"scale-{size}-daemon.log"
        row = measure(size, args.sources, args.links, args.seconds, not args.no_pages, log)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
