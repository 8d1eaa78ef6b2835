"""Read and validate ``config.toml`` into frozen dataclasses.

Every problem stops the program before any fetch with one line that names the
file, the key (and its line, where it can be found) and what was expected.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from scraper.html import SelectorError, check_selector
from scraper.kinds import AUTO, KINDS, Kinds
from scraper.notify.events import EVENT_KINDS
from scraper.schedule import Schedule, ScheduleError, validate_cron

RENDER_MODES = ("never", "auto", "always")
S = TypeVar("S")  # a settings dataclass
RESOURCE_TYPES = ("image", "font", "media", "stylesheet", "script", "xhr", "fetch", "other")
# Third-party trackers a rendered page may not call (host suffixes); [render] block replaces it.
DEFAULT_RENDER_BLOCK = (
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "googlesyndication.com",
    "facebook.net",
    "scorecardresearch.com",
    "hotjar.com",
    "chartbeat.com",
    "quantserve.com",
    "segment.io",
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_SIZE_BYTES = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


DEFAULT_USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive; article archiver)"


class ConfigError(Exception):
    """A configuration problem, already phrased for the user as one line."""


@dataclass(frozen=True)
class ArchiveSettings:
    path: Path = Path("archive.db")  # relative: beside config.toml
    min_free: int = 500 * 1024**2  # bytes free beside the archive before a batch, else pause


@dataclass(frozen=True)
class FetchSettings:
    """How to fetch; the defaults are those of a config.toml that leaves ``[fetch]`` out."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0  # total seconds one fetch may take, whatever the server does
    max_bytes: int = 10 * 1024**2  # cap on the decoded body
    concurrency: int = 8  # fetches in flight over all hosts
    host_gap: float = 1.0  # minimum seconds between two requests to one host
    max_retries: int = 2
    robots: bool = True
    allow_networks: tuple[str, ...] = ()  # CIDRs that discovered links may point to
    allow_hosts: tuple[str, ...] = ()
    secrets_file: Path | None = None


@dataclass(frozen=True)
class RevisitSettings:
    min_interval: float = 900.0
    max_interval: float = 7 * 86400.0
    budget_per_hour: int = 120  # revisits per source per hour


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    kind: str
    schedule: Schedule
    robots: bool = True
    content: tuple[str, ...] = ()  # CSS selectors of the article body for this site
    remove: tuple[str, ...] = ()  # CSS selectors of noise for this site
    secret_headers: tuple[tuple[str, str], ...] = ()  # header name -> environment variable
    render: str = "never"  # "never" | "auto" | "always": run the page's scripts in Chromium


@dataclass(frozen=True)
class RenderSettings:
    """The rendering fetcher (scraper/render/): the system's Chromium through Playwright."""

    chromium: str | None = None  # path of the browser; None: chromium found on PATH
    pages: int = 2  # pages rendered at once (browser contexts)
    block: tuple[str, ...] = DEFAULT_RENDER_BLOCK  # tracker hosts (and their subdomains)
    block_types: tuple[str, ...] = ("image", "font", "media")  # resource types never loaded
    restart_after: int = 200  # pages rendered before the browser is restarted
    max_rss: int = 1024**3  # bytes: restart the browser once its processes use more


@dataclass(frozen=True)
class ExtractSettings:
    """Where pages, feeds and sitemaps are read: worker processes, each task under a budget."""

    workers: int = 2
    budget: float = 20.0  # seconds one page, feed or sitemap may take to read


@dataclass(frozen=True)
class HealthSettings:
    """When ``scraper status`` and the metrics call a source quiet (archive.health's rules)."""

    quiet_factor: float = 3.0  # silence longer than this many usual gaps
    min_quiet: float = 3600.0  # and never sooner than this
    same_run: float = 60.0  # new articles closer than this are one run's batch, not a gap


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics and /healthz on a local port; off unless ``listen`` is set."""

    listen: tuple[str, int] | None = None  # (host, port)


@dataclass(frozen=True)
class NotifyTarget:
    """One ``[[notify.targets]]`` entry: an Apprise URL and the alerts it wants."""

    url: str  # may hold a password or token: logs name the target by ``label``
    label: str  # the URL with its secrets masked (Apprise's privacy form)
    on: tuple[str, ...] = EVENT_KINDS
    sources: tuple[str, ...] | None = None  # None: every source

    def wants(self, kind: str, source: str) -> bool:
        return kind in self.on and (self.sources is None or source in self.sources)


@dataclass(frozen=True)
class NotifySettings:
    """Alerts (``[notify]``); off while ``targets`` is empty."""

    targets: tuple[NotifyTarget, ...] = ()
    archive_url: str | None = None  # where ``archive serve`` is reached: history links
    dispatch_interval: float = 60.0  # one message per target and source per this many seconds
    retries: int = 5  # tries after the first, for a message that failed to send
    retry_backoff: float = 30.0  # the wait before the first retry; doubled for each next one


@dataclass(frozen=True)
class ClusterSettings:
    """``[cluster]``: the roles as separate processes on PostgreSQL; off without ``database``."""

    database: str | None = None  # a postgresql:// URL (it may hold a password: never logged)
    heartbeat: float = 10.0  # seconds between a worker's heartbeats
    stalled_after: float = 30.0  # a worker silent this long is dead: its jobs run again
    worker_jobs: int = 8  # jobs one `scraper worker` runs at once (one per host at a time)

    @property
    def enabled(self) -> bool:
        return self.database is not None


@dataclass(frozen=True)
class Config:
    path: Path
    archive: ArchiveSettings
    fetch: FetchSettings
    revisit: RevisitSettings
    sources: tuple[Source, ...]
    extract: ExtractSettings = ExtractSettings()
    render: RenderSettings = RenderSettings()
    metrics: MetricsSettings = MetricsSettings()
    health: HealthSettings = HealthSettings()
    notify: NotifySettings = NotifySettings()
    cluster: ClusterSettings = ClusterSettings()


def parse_duration(text: str) -> float:
    """``"90s"``, ``"15m"``, ``"6h"``, ``"2d"`` -> seconds. Raises ValueError."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNIT_SECONDS[unit] and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{int(seconds // _UNIT_SECONDS[unit])}{unit}"
    return f"{seconds:g}s"


def load_config(path: Path, kinds: Kinds = KINDS) -> Config:
    """Read and check the file at ``path``; raise :class:`ConfigError` on any problem.

    A source's ``kind`` is ``auto`` or the name of a kind in ``kinds``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; pass --config PATH to a config.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path, text, kinds).config(data)


class _Reader:
    """Walks the parsed TOML, checking each key; knows the file for error lines."""

    def __init__(self, path: Path, text: str, kinds: Kinds) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.kinds = kinds

    def fail(self, key: str, message: str) -> ConfigError:
        line = self._line_of(key)
        where = f" (line {line})" if line else ""
        return ConfigError(f"{self.path}: {key}{where}: {message}")

    def _line_of(self, key: str) -> int | None:
        """Best effort: the line where the last part of a dotted key is assigned."""
        leaf = re.sub(r"\[\d+\]$", "", key.split(".")[-1])
        # "sources[1].every" is in [[sources]], "notify.targets[0].url" in [[notify.targets]]
        section = key.split("[")[0] if "[" in key else key.split(".")[0]
        index_match = re.search(r"\[(\d+)\]", key)
        wanted_index = int(index_match.group(1)) if index_match else None
        seen_index = -1
        in_section = False
        pattern = re.compile(rf"^\s*\"?{re.escape(leaf)}\"?\s*=")
        header = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?")
        for number, line in enumerate(self.lines, start=1):
            head = header.match(line)
            if head:
                in_section = head.group(1) == section
                if in_section and line.lstrip().startswith("[["):
                    seen_index += 1
                if in_section and leaf == section and wanted_index in (None, seen_index):
                    return number
                continue
            in_entry = wanted_index is None or wanted_index == seen_index
            if in_section and in_entry and pattern.match(line):
                return number
        return None

    def config(self, data: Mapping[str, Any]) -> Config:
        known_top = {"archive", "fetch", "revisit", "extract", "health", "metrics", "render",
                     "sources", "notify", "cluster"}  # fmt: skip
        for name in data:
            if name not in known_top:
                raise self.fail(
                    name, f"unknown key; expected one of {', '.join(sorted(known_top))}"
                )
        archive = self.archive(self._section(data, "archive"))
        fetch = self.fetch(self._section(data, "fetch"))
        revisit = self.revisit(self._section(data, "revisit"))
        raw_sources = data.get("sources", [])
        if not isinstance(raw_sources, list) or not all(isinstance(s, dict) for s in raw_sources):
            raise self.fail("sources", "expected [[sources]] tables")
        if not raw_sources:
            raise self.fail("sources", "no [[sources]] configured; add at least one")
        sources = tuple(self.source(i, s) for i, s in enumerate(raw_sources))
        seen: set[str] = set()  # a set: a list search made 10,000 sources take 3 s to load
        for i, source in enumerate(sources):
            if source.name in seen:
                raise self.fail(f"sources[{i}].name", f"duplicate source name {source.name!r}")
            seen.add(source.name)
        extract = self.extract(self._section(data, "extract"))
        render = self.render(self._section(data, "render"))
        metrics = self.metrics(self._section(data, "metrics"))
        health = self.health(self._section(data, "health"))
        notify = self.notify(data.get("notify", {}), sources)
        cluster = self.cluster(self._section(data, "cluster"))
        return Config(
            self.path, archive, fetch, revisit, sources, extract, render, metrics, health, notify,
            cluster,
        )  # fmt: skip

    def _section(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, Mapping):
            raise self.fail(name, "expected a table")
        return value

    def _check_keys(self, table: Mapping[str, Any], prefix: str, known: set[str]) -> None:
        for name in table:
            if name not in known:
                raise self.fail(
                    f"{prefix}.{name}", f"unknown key; expected one of {', '.join(sorted(known))}"
                )

    def get(
        self,
        table: Mapping[str, Any],
        prefix: str,
        name: str,
        default: Any,
        convert: Callable[[Any], Any],
        expected: str,
        *,
        secret: bool = False,
    ) -> Any:
        if name not in table:
            return default
        try:
            return convert(table[name])
        except (ValueError, TypeError) as exc:
            # Cron and selector errors know what exactly is wrong; say it too.
            detail = f" ({exc})" if isinstance(exc, ScheduleError | SelectorError) else ""
            # A value that may hold a password is not repeated in the error line.
            shown = "the value" if secret else repr(table[name])
            raise self.fail(
                f"{prefix}.{name}", f"{shown} is not valid{detail}; expected {expected}"
            ) from None

    def table(
        self, t: Mapping[str, Any], section: str, make: Callable[..., S], keys: Iterable[Key]
    ) -> S:
        """A settings table read key by key; a key left out keeps the dataclass's default."""
        keys = tuple(keys)
        self._check_keys(t, section, {key.name for key in keys})
        defaults = make()
        return make(
            **{
                key.name: self.get(
                    t,
                    section,
                    key.name,
                    getattr(defaults, key.name),
                    key.convert,
                    key.expected,
                    secret=key.secret,
                )
                for key in keys
            }
        )

    def _beside_config(self, value: Any) -> Path:
        """A path as written, relative ones taken from the config file's folder."""
        path = Path(_string(value)).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    def _program(self, value: Any) -> str:
        """A program: a bare name is looked up on PATH, a path is taken beside the config."""
        name = _nonempty(value)
        return str(self._beside_config(name)) if "/" in name else name

    def archive(self, t: Mapping[str, Any]) -> ArchiveSettings:
        path = Key("path", self._beside_config, "a file path string")
        settings = self.table(t, "archive", ArchiveSettings, (path, *ARCHIVE_KEYS))
        # The default too is beside config.toml, not in the daemon's working folder.
        return replace(settings, path=self._beside_config(str(settings.path)))

    def fetch(self, t: Mapping[str, Any]) -> FetchSettings:
        secrets = Key("secrets_file", self._beside_config, "a file path string")
        return self.table(t, "fetch", FetchSettings, (*FETCH_KEYS, secrets))

    def revisit(self, t: Mapping[str, Any]) -> RevisitSettings:
        settings = self.table(t, "revisit", RevisitSettings, REVISIT_KEYS)
        if settings.max_interval < settings.min_interval:
            raise self.fail("revisit.max_interval", "must not be shorter than revisit.min_interval")
        return settings

    def extract(self, t: Mapping[str, Any]) -> ExtractSettings:
        return self.table(t, "extract", ExtractSettings, EXTRACT_KEYS)

    def render(self, t: Mapping[str, Any]) -> RenderSettings:
        chromium = Key("chromium", self._program, "a file path string")
        return self.table(t, "render", RenderSettings, (chromium, *RENDER_KEYS))

    def health(self, t: Mapping[str, Any]) -> HealthSettings:
        return self.table(t, "health", HealthSettings, HEALTH_KEYS)

    def cluster(self, t: Mapping[str, Any]) -> ClusterSettings:
        settings = self.table(t, "cluster", ClusterSettings, CLUSTER_KEYS)
        if t and settings.database is None:
            raise self.fail(
                "cluster.database",
                'missing; [cluster] needs database = "postgresql://user@host/dbname"'
                " (leave [cluster] out to run in one process on SQLite)",
            )
        if settings.stalled_after < 2 * settings.heartbeat:
            raise self.fail(
                "cluster.stalled_after",
                f"{format_duration(settings.stalled_after)} is shorter than twice"
                f" cluster.heartbeat ({format_duration(settings.heartbeat)}): a live worker"
                " would be taken for dead between two heartbeats",
            )
        return settings

    def metrics(self, t: Mapping[str, Any]) -> MetricsSettings:
        self._check_keys(t, "metrics", {"listen"})
        listen = self.get(
            t, "metrics", "listen", None, _host_port, 'a "HOST:PORT" like "127.0.0.1:9464"'
        )
        return MetricsSettings(listen=listen)

    # -- [notify] and [[notify.targets]]: alerts (scraper/notify/) --------------------------

    def notify(self, value: Any, sources: tuple[Source, ...]) -> NotifySettings:
        if isinstance(value, list):
            raise self.fail(
                "notify",
                "expected a [notify] table with [[notify.targets]] entries (TOML cannot have"
                " both [notify] and [[notify]]; write [[notify.targets]])",
            )
        if not isinstance(value, Mapping):
            raise self.fail("notify", "expected a table")
        t: Mapping[str, Any] = value
        known = {"archive_url", "dispatch_interval", "retries", "retry_backoff", "targets"}
        self._check_keys(t, "notify", known)
        raw = t.get("targets", [])
        if not isinstance(raw, list) or not all(isinstance(e, Mapping) for e in raw):
            raise self.fail("notify.targets", "expected [[notify.targets]] tables")
        names = tuple(s.name for s in sources)
        d = NotifySettings()
        dur = 'a duration like "60s" or "5m"'
        archive_url = self.get(
            t, "notify", "archive_url", None, _http_url,
            'the http:// or https:// address where `archive serve` is reached',
        )  # fmt: skip
        return NotifySettings(
            targets=tuple(self.notify_target(i, e, names) for i, e in enumerate(raw)),
            archive_url=archive_url.rstrip("/") if archive_url else None,
            dispatch_interval=self.get(
                t, "notify", "dispatch_interval", d.dispatch_interval, _positive_duration, dur
            ),
            retries=self.get(
                t, "notify", "retries", d.retries, _small_int, "a whole number from 0 to 10"
            ),
            retry_backoff=self.get(
                t, "notify", "retry_backoff", d.retry_backoff, _positive_duration, dur
            ),
        )

    def notify_target(
        self, index: int, t: Mapping[str, Any], source_names: tuple[str, ...]
    ) -> NotifyTarget:
        prefix = f"notify.targets[{index}]"
        self._check_keys(t, prefix, {"url", "on", "sources"})
        example = 'an Apprise URL like "json://host/path", "mailto://user:pass@example.com"'
        url = t.get("url")
        if url is None:
            raise self.fail(f"{prefix}.url", f"missing; every target needs {example}")
        if not isinstance(url, str) or not url.strip():
            raise self.fail(f"{prefix}.url", f"expected {example}")
        # Apprise is imported here, by a config that has targets, not by every command.
        from scraper.notify.apprise_sender import describe_url

        try:
            label = describe_url(url.strip())
        except ValueError as exc:  # the URL itself is not repeated: it may hold a secret
            raise self.fail(
                f"{prefix}.url", f"Apprise cannot send to this URL ({exc}); expected {example}"
            ) from None
        on = self.get(
            t, prefix, "on", EVENT_KINDS, _events, f"a list of events from {', '.join(EVENT_KINDS)}"
        )
        wanted = self.get(t, prefix, "sources", None, _strings, "a list of source names")
        for name in wanted or ():
            if name not in source_names:
                raise self.fail(
                    f"{prefix}.sources",
                    f"{name!r} is not a configured source; the sources are"
                    f" {', '.join(repr(n) for n in source_names[:10])}"
                    + (", ..." if len(source_names) > 10 else ""),
                )
        return NotifyTarget(url=url.strip(), label=label, on=on, sources=wanted)

    def source(self, index: int, t: Mapping[str, Any]) -> Source:
        prefix = f"sources[{index}]"
        known = {
            "name",
            "url",
            "kind",
            "every",
            "cron",
            "jitter",
            "robots",
            "content",
            "remove",
            "secret_headers",
            "render",
        }
        self._check_keys(t, prefix, known)
        if "url" not in t:
            raise self.fail(f"{prefix}.url", "missing; every source needs a url")
        url = self.get(t, prefix, "url", None, _http_url, "an absolute http:// or https:// URL")
        name = self.get(t, prefix, "name", urlsplit(url).netloc, _nonempty, "a non-empty string")
        names = self.kinds.names
        kind = self.get(t, prefix, "kind", AUTO, _choice(names), f"one of {', '.join(names)}")
        if "every" in t and "cron" in t:
            raise self.fail(f"{prefix}.cron", "give either every or cron, not both")
        if "every" not in t and "cron" not in t:
            raise self.fail(
                f"{prefix}.every", 'missing; give every = "15m" or cron = "0 6 * * mon-fri"'
            )
        every = self.get(
            t,
            prefix,
            "every",
            None,
            _positive_duration,
            'a duration: a number with s, m, h or d, like "90s", "15m", "6h" or "1d"',
        )
        cron = self.get(
            t,
            prefix,
            "cron",
            None,
            _cron,
            'a crontab line of five fields, like "0 6 * * mon-fri"',
        )
        default_jitter = min(every * 0.1, 300.0) if every else 60.0
        jitter = self.get(t, prefix, "jitter", default_jitter, _duration, 'a duration like "30s"')
        return Source(
            name=name,
            url=url,
            kind=kind,
            schedule=Schedule(every=every, cron=cron, jitter=jitter),
            robots=self.get(t, prefix, "robots", True, _bool, "true or false"),
            content=self.get(t, prefix, "content", (), _selectors, "a list of CSS selectors"),
            remove=self.get(t, prefix, "remove", (), _selectors, "a list of CSS selectors"),
            secret_headers=self.get(
                t,
                prefix,
                "secret_headers",
                (),
                _env_mapping,
                "a table of header names to environment variable names",
            ),
            render=self.get(
                t,
                prefix,
                "render",
                "never",
                _choice(RENDER_MODES),
                f"one of {', '.join(RENDER_MODES)}",
            ),
        )


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _nonempty(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value.strip()


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(value)
    return value


def _small_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValueError(value)
    return value


def _worker_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ValueError(value)
    return value


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(value)
        return float(value)
    return parse_duration(value)


def _positive_duration(value: Any) -> float:
    seconds = _duration(value)
    if seconds <= 0:
        raise ValueError(value)
    return seconds


def _size(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int) and value > 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) <= 0:
        raise ValueError(value)
    return int(match.group(1)) * _SIZE_BYTES[match.group(2) or "B"]


def _size_or_zero(value: Any) -> int:
    if value == 0 or value == "0":
        return 0
    return _size(value)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TypeError(value)
    return tuple(v.strip() for v in value)


def _strings_or_empty(value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and not value:
        return ()
    return tuple(v.lower().lstrip(".") for v in _strings(value))


def _resource_types(value: Any) -> tuple[str, ...]:
    types = _strings_or_empty(value)
    if any(t not in RESOURCE_TYPES for t in types):
        raise ValueError(value)
    return types


def _selectors(value: Any) -> tuple[str, ...]:
    selectors = _strings(value)
    for css in selectors:
        check_selector(css)  # SelectorError is a ValueError naming the selector
    return selectors


def _networks(value: Any) -> tuple[str, ...]:
    return tuple(str(ipaddress.ip_network(v, strict=False)) for v in _strings(value))


def _env_mapping(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise TypeError(value)
    pairs = []
    for header, env in value.items():
        if not isinstance(env, str) or not _ENV_NAME.match(env):
            raise ValueError(value)
        pairs.append((str(header), env))
    return tuple(pairs)


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(value)
    return value.strip()


def _factor(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise ValueError(value)
    return float(value)


def _host_port(value: Any) -> tuple[str, int]:
    if not isinstance(value, str):
        raise TypeError(value)
    parts = urlsplit("//" + value.strip())
    port = parts.port  # raises ValueError for a port out of range
    if not parts.hostname or port is None or port == 0 or parts.path or parts.username:
        raise ValueError(value)
    return parts.hostname, port


def _events(value: Any) -> tuple[str, ...]:
    names = _strings(value)
    if not names or any(n not in EVENT_KINDS for n in names):
        raise ValueError(value)
    return tuple(k for k in EVENT_KINDS if k in names)


def _cron(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    validate_cron(value)  # ScheduleError is a ValueError: reported with the key and line
    return " ".join(value.split())


def _postgres_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or parts.query):
        raise ValueError("not a postgresql:// URL")
    return url


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(value)
        return str(value)

    return convert


@dataclass(frozen=True)
class Key:
    """One key of a settings table: how its TOML value is read, and what a user should write."""

    name: str
    convert: Callable[[Any], Any]
    expected: str
    secret: bool = False  # the value may hold a password: errors do not repeat it


_DURATION_HINT = 'a duration like "10s", "2m" or "1h"'
_AT_LEAST_ONE = "a whole number of at least 1"
_WORKERS = "a whole number from 1 to 64"

ARCHIVE_KEYS = (Key("min_free", _size_or_zero, 'a size like "500MiB" (0 turns the check off)'),)
FETCH_KEYS = (
    Key("user_agent", _nonempty, "a non-empty string"),
    Key("connect_timeout", _positive_duration, _DURATION_HINT),
    Key("read_timeout", _positive_duration, _DURATION_HINT),
    Key("deadline", _positive_duration, _DURATION_HINT),
    Key("max_bytes", _size, 'a size like 10485760 or "10MiB"'),
    Key("concurrency", _positive_int, _AT_LEAST_ONE),
    Key("host_gap", _duration, _DURATION_HINT),
    Key("max_retries", _small_int, "a whole number from 0 to 10"),
    Key("robots", _bool, "true or false"),
    Key("allow_networks", _networks, 'a list of networks like ["10.0.0.0/8"]'),
    Key("allow_hosts", _strings, "a list of host names"),
)
REVISIT_KEYS = (
    Key("min_interval", _positive_duration, 'a duration like "15m" or "7d"'),
    Key("max_interval", _positive_duration, 'a duration like "15m" or "7d"'),
    Key("budget_per_hour", _positive_int, _AT_LEAST_ONE),
)
EXTRACT_KEYS = (
    Key("workers", _worker_count, _WORKERS),
    Key("budget", _positive_duration, 'a duration like "20s"'),
)
RENDER_KEYS = (
    Key("pages", _worker_count, _WORKERS),
    Key("block", _strings_or_empty, "a list of hosts"),
    Key(
        "block_types", _resource_types, f"a list of resource types from {', '.join(RESOURCE_TYPES)}"
    ),
    Key("restart_after", _positive_int, _AT_LEAST_ONE),
    Key("max_rss", _size, 'a size like "1GiB"'),
)
HEALTH_KEYS = (
    Key("quiet_factor", _factor, "a number of at least 1"),
    Key("min_quiet", _duration, 'a duration like "1h" or "60s"'),
    Key("same_run", _duration, 'a duration like "1h" or "60s"'),
)
CLUSTER_KEYS = (
    Key(
        "database",
        _postgres_url,
        'a PostgreSQL URL like "postgresql://newsarchive@db.example.net/newsarchive"',
        secret=True,
    ),
    Key("heartbeat", _positive_duration, 'a duration like "10s"'),
    Key("stalled_after", _positive_duration, 'a duration like "30s"'),
    Key("worker_jobs", _positive_int, _AT_LEAST_ONE),
)
