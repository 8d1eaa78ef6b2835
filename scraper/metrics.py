"""Prometheus metrics and ``/healthz`` on a local port (the one module using prometheus_client).

Counters move only when a batch is committed (the pipeline announces a fetch after
its commit, never before); gauges about sources, the revisit queue, the lag and the
archive's size are read from the committed file at each scrape, with the same code
as ``scraper status``. The server runs in a thread, so a stuck event loop still
answers: ``/healthz`` then says how long ago the last commit was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from archive.db import ArchiveError
from archive.health import State, parse_time
from archive.store import Recorded
from contract.clock import Clock
from contract.model import Article, Fetch
from scraper.config import Config
from scraper.status import Status, gather

READ_EVERY_S = 5.0  # the archive-read gauges are at most this old
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)

# Returns None when healthy, else why not (one line, the /healthz body).
HealthCheck = Callable[[], str | None]
_WSGIResponse = Callable[[str, list[tuple[str, str]]], Any]


class MetricsError(Exception):
    """The metrics port cannot be opened; the message names the address and why."""


class Metrics:
    """The daemon's counters and histograms, in a registry of their own."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter(
            "newsarchive_fetches", "Committed fetches by source and outcome.",
            ["source", "outcome"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "newsarchive_fetch_duration_seconds", "How long each committed fetch took.",
            ["source"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.versions = Counter(
            "newsarchive_versions", "Committed versions by source and kind (new, changed, gone,"
            " back).", ["source", "kind"], registry=r,
        )  # fmt: skip
        self.quality = Counter(
            "newsarchive_extraction_problems",
            "Committed versions (new, changed, back) with empty text, no title or no date.",
            ["source", "problem"], registry=r,
        )  # fmt: skip
        self.lag = Histogram(
            "newsarchive_schedule_lag_seconds",
            "How late fetches started after they were due (started_at - due_at).",
            buckets=LAG_BUCKETS, registry=r,
        )  # fmt: skip
        self.last_commit = Gauge(
            "newsarchive_last_commit_timestamp_seconds",
            "When the last batch with fetches in it was committed (Unix time).", registry=r,
        )  # fmt: skip
        self._archive = _ArchiveCollector(config, clock)
        self.use_config(config)
        r.register(self._archive)
        self._clock = clock

    def use_config(self, config: Config) -> None:
        """Judge and show the sources of ``config`` (at the start, and after a reload)."""
        for source in config.sources:  # a source that never ran shows as zeros, not absent
            for problem in ("empty_text", "no_title", "no_date"):
                self.quality.labels(source.name, problem)
        self._archive.use_config(config)

    def recorded(self, fetch: Fetch, article: Article | None, recorded: Recorded) -> None:
        """Count one committed fetch (called after its batch committed)."""
        source = fetch.source or ""
        self.fetches.labels(source, str(recorded.outcome)).inc()
        self.latency.labels(source).observe(fetch.elapsed_ms / 1000)
        if fetch.due_at is not None:
            lag = (parse_time(fetch.started_at) - parse_time(fetch.due_at)).total_seconds()
            self.lag.observe(max(lag, 0.0))
        self.last_commit.set(self._clock.now().timestamp())
        kind = recorded.kind
        if kind is None:
            return
        self.versions.labels(source, kind).inc()
        if article is not None and kind != "gone":
            if not any(p.strip() for p in article.paragraphs):
                self.quality.labels(source, "empty_text").inc()
            if not (article.title or "").strip():
                self.quality.labels(source, "no_title").inc()
            if not (article.published or "").strip():
                self.quality.labels(source, "no_date").inc()


class _ArchiveCollector(Collector):
    """Gauges read from the committed archive at each scrape (as ``scraper status`` reads it)."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        # Read at most every READ_EVERY_S: two Prometheus servers scraping every 5 s do not
        # read the archive twice as often (scrapes run in threads, hence the lock).
        self._lock = threading.Lock()
        self._read: tuple[float, Status] | None = None

    def use_config(self, config: Config) -> None:
        with self._lock:
            self._config = config
            self._read = None  # the next scrape reads the archive for these sources

    def _status(self) -> Status:
        with self._lock:
            now = self._clock.monotonic()
            if self._read is None or now - self._read[0] >= READ_EVERY_S:
                self._read = (now, gather(self._config, self._clock))
            return self._read[1]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            status = self._status()
        except (ArchiveError, OSError):
            yield GaugeMetricFamily(
                "newsarchive_archive_readable", "Whether the archive could be read.", value=0
            )
            return
        yield GaugeMetricFamily(
            "newsarchive_archive_readable", "Whether the archive could be read.", value=1
        )
        state = GaugeMetricFamily(
            "newsarchive_source_state", "1 for the state each source is in.",
            labels=["source", "state"],
        )  # fmt: skip
        failures = GaugeMetricFamily(
            "newsarchive_source_consecutive_failures", "Failed runs since the last good one.",
            labels=["source"],
        )  # fmt: skip
        success = GaugeMetricFamily(
            "newsarchive_source_last_success_timestamp_seconds",
            "When the source's last good run started.", labels=["source"],
        )  # fmt: skip
        found = GaugeMetricFamily(
            "newsarchive_source_last_new_article_timestamp_seconds",
            "When the source's last new article was fetched.", labels=["source"],
        )  # fmt: skip
        for entry in status.sources:
            s = entry.health
            for name in State:
                state.add_metric([s.name, name.value], 1.0 if s.state is name else 0.0)
            failures.add_metric([s.name], s.consecutive_failures)
            if s.last_success_at is not None:
                success.add_metric([s.name], parse_time(s.last_success_at).timestamp())
            if s.last_new_at is not None:
                found.add_metric([s.name], parse_time(s.last_new_at).timestamp())
        yield from (state, failures, success, found)
        q = status.revisits
        yield GaugeMetricFamily(
            "newsarchive_revisits_due", "Articles whose next check has come.", value=q.due_now
        )
        yield GaugeMetricFamily(
            "newsarchive_revisits_overdue",
            "Articles due for longer than [revisit] min_interval.", value=q.overdue,
        )  # fmt: skip
        lag = GaugeMetricFamily(
            "newsarchive_schedule_lag_last_hour_seconds",
            "Lag of the fetches started in the last hour, by quantile.", labels=["quantile"],
        )  # fmt: skip
        for quantile, value in (("0.5", status.lag.p50_s), ("0.95", status.lag.p95_s)):
            if value is not None:
                lag.add_metric([quantile], value)
        yield lag
        size = GaugeMetricFamily(
            "newsarchive_archive_size_bytes", "The archive's file sizes.", labels=["file"]
        )
        size.add_metric(["database"], status.size.database_bytes)
        size.add_metric(["wal"], status.size.wal_bytes)
        yield size


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s are not news for the daemon's log."""


@dataclass
class MetricsServer:
    server: _Server
    thread: threading.Thread

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(metrics: Metrics, host: str, port: int, health: HealthCheck) -> MetricsServer:
    """Serve ``/metrics`` and ``/healthz`` in a thread; raises :class:`MetricsError`."""
    exposition = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], respond: _WSGIResponse) -> list[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            problem = health()
            status = "200 OK" if problem is None else "503 Service Unavailable"
            respond(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{problem or 'ok'}\n".encode()]
        result: list[bytes] = exposition(environ, respond)
        return result

    try:
        server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    except OSError as exc:
        raise MetricsError(
            f'[metrics] listen = "{host}:{port}": cannot listen there: {exc.strerror or exc}'
        ) from None
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
