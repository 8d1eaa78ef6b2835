"""Secret request headers (cookies, tokens) for a source, kept out of the archive and the logs.

Two places may hold them, never ``config.toml`` itself:

- environment variables, named per source in ``config.toml``::

      [[sources]]
      name = "paywalled"
      secret_headers = { Cookie = "PAYWALLED_COOKIE" }

- the file named by ``fetch.secrets_file`` (TOML, keep it out of version control)::

      [sources.paywalled.headers]
      Authorization = "Bearer ..."
      [sources.paywalled.cookies]
      session = "..."

They are sent only to the source's own host, dropped on a redirect to another
origin, and every recorded or logged header that may carry them is masked.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from scraper.config import FetchSettings, Source

MASK = "***"
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


class SecretError(ValueError):
    """A secret that was configured but cannot be found; the message names where."""


class SecretStore:
    """Looks up the secret headers of a source when a request to it is made."""

    def __init__(
        self,
        file_headers: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._file_headers = dict(file_headers or {})
        self._environ = environ if environ is not None else os.environ

    @classmethod
    def from_settings(
        cls, settings: FetchSettings, environ: Mapping[str, str] | None = None
    ) -> SecretStore:
        file_headers = read_secrets_file(settings.secrets_file) if settings.secrets_file else {}
        return cls(file_headers, environ)

    def reread(self, settings: FetchSettings) -> SecretStore:
        """The same environment with the secrets file read again (a reload)."""
        return SecretStore.from_settings(settings, self._environ)

    def headers_for(self, source: Source) -> tuple[tuple[str, str], ...]:
        """The secret headers of ``source``; raises SecretError naming a missing variable."""
        headers = list(self._file_headers.get(source.name, ()))
        for header, variable in source.secret_headers:
            value = self._environ.get(variable)
            if value is None:
                raise SecretError(
                    f"source {source.name}: header {header} needs environment variable "
                    f"{variable}, which is not set"
                )
            headers.append((header, value))
        return tuple(headers)

    def names_for(self, source: Source | None) -> frozenset[str]:
        """Lower-case names of the headers to mask for ``source``."""
        if source is None:
            return ALWAYS_SECRET
        names = {h.lower() for h, _ in source.secret_headers}
        names.update(h.lower() for h, _ in self._file_headers.get(source.name, ()))
        return ALWAYS_SECRET | names

    def __repr__(self) -> str:
        return f"SecretStore(sources={sorted(self._file_headers)}, values={MASK})"


def mask_headers(
    headers: Iterable[tuple[str, str]], secret_names: Iterable[str] = ALWAYS_SECRET
) -> tuple[tuple[str, str], ...]:
    """Headers fit for a log or the archive: secret values replaced by ``***``."""
    names = {n.lower() for n in secret_names} | ALWAYS_SECRET
    return tuple((k, MASK if k.lower() in names else v) for k, v in headers)


def read_secrets_file(path: Path) -> dict[str, tuple[tuple[str, str], ...]]:
    """``{source name: ((header, value), ...)}`` from a secrets TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SecretError(f"{path}: secrets file not found (fetch.secrets_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"{path}: cannot read the secrets file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SecretError(f"{path}: not valid TOML: {exc}") from None
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise SecretError(f"{path}: sources: expected tables like [sources.NAME.headers]")
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, table in sources.items():
        if not isinstance(table, dict):
            raise SecretError(f"{path}: sources.{name}: expected a table")
        headers = list(_pairs(path, f"sources.{name}.headers", table.get("headers", {})))
        cookies = list(_pairs(path, f"sources.{name}.cookies", table.get("cookies", {})))
        unknown = set(table) - {"headers", "cookies"}
        if unknown:
            raise SecretError(
                f"{path}: sources.{name}.{sorted(unknown)[0]}: unknown key; "
                "expected headers or cookies"
            )
        if cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
        found[str(name)] = tuple(headers)
    return found


def _pairs(path: Path, key: str, table: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise SecretError(f"{path}: {key}: expected a table of names to string values")
    return ((str(k), v) for k, v in table.items())
