"""``scraper reparse``: read every stored raw page again with today's extractor.

A different result from the same bytes is a parser change, never a publisher
edit: it goes to the ``extractions`` table beside the version it re-reads, and
the ``versions`` table (the publisher's history) stays exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from archive.store import Archive, Reextract
from contract.clock import Clock, SystemClock
from contract.model import Article
from scraper.decode import decode_html
from scraper.extract import EXTRACTOR_VERSION, extract_document
from scraper.progress import progress
from scraper.render import RENDERED_TAG

# Per-site selectors from the config: the name of the source that found the article ->
# (content selectors, remove selectors).
Selectors = Callable[[str | None], tuple[Sequence[str], Sequence[str]]]
COMMIT_EVERY = 200


@dataclass(frozen=True)
class ReparseReport:
    extractor_version: str
    read: int  # versions re-read
    changed: int  # of which today's extractor reads something else
    failed: tuple[str, ...]  # "url vN: why" for pages that could not be re-read


def no_overrides(source: str | None) -> tuple[Sequence[str], Sequence[str]]:
    return (), ()


def reextractor(selectors: Selectors = no_overrides) -> Reextract:
    """The function ``Archive.open(reextract=...)`` needs to compare across extractor upgrades."""

    def reextract(body: bytes, content_type: str | None, url: str, source: str | None) -> Article:
        content, remove = selectors(source)
        text = decode_html(body, content_type)
        return extract_document(text, url, content=content, remove=remove)

    return reextract


def reparse(
    archive_path: Path,
    *,
    clock: Clock | None = None,
    selectors: Selectors = no_overrides,
    everything: bool = False,
    show_progress: bool = True,
) -> ReparseReport:
    """Re-extract stored versions; by default only those today's extractor has not read yet."""
    read_page = reextractor(selectors)
    skip = None if everything else EXTRACTOR_VERSION
    changed = 0
    read = 0
    failed: list[str] = []
    with Archive.open(archive_path, clock or SystemClock()) as archive:
        total = archive.count_stored_versions(skip_extractor=skip)
        stored = archive.stored_versions(skip_extractor=skip)
        for item in progress(stored, total=total, description="reparse", enabled=show_progress):
            try:
                article = read_page(item.body, item.content_type, item.url, item.source)
            except Exception as exc:  # one bad page must not stop the others
                failed.append(f"{item.url} v{item.version}: {type(exc).__name__}: {exc}")
                continue
            if (item.extractor_version or "").endswith(RENDERED_TAG):  # a rendered DOM
                tagged = article.extractor_version + RENDERED_TAG
                article = replace(article, extractor_version=tagged)
            outcome = archive.record_extraction(item.version_id, article)
            read += 1
            changed += outcome.changed
            if read % COMMIT_EVERY == 0:
                archive.commit()
    return ReparseReport(EXTRACTOR_VERSION, read, changed, tuple(failed))
