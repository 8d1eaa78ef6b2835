"""How an article was removed, in the words the history and the pages use.

A removal is a fetch the store judged ``gone``: an HTTP 404 or 410, or a redirect away
from the article (to the site's front page or a section). An article can be gone at
first sight, with no version ever stored; its fetches still say what happened.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Removal:
    at: str  # ISO-8601 UTC, when the fetch that found it gone started
    url: str
    status: int | None
    final_url: str | None

    @property
    def reason(self) -> str:
        """``HTTP 410``, or ``redirected to URL``."""
        if self.final_url and self.final_url != self.url:
            return f"redirected to {self.final_url}"
        return f"HTTP {self.status}" if self.status else "gone"

    @property
    def description(self) -> str:
        """``removed by the publisher (HTTP 410)``."""
        return f"removed by the publisher ({self.reason})"

    def sentence(self) -> str:
        return f"{self.description} at {self.at}"


# The first fetch after the last readable version that found the article gone.
REMOVAL_SQL = """
SELECT f.started_at, f.url, f.status, f.final_url FROM fetches f
WHERE f.article_id = ? AND f.outcome = 'gone' AND f.id > coalesce((
  SELECT max(l.fetch_id) FROM versions l WHERE l.article_id = f.article_id AND l.state != 'gone'
), 0)
ORDER BY f.id LIMIT 1
"""


def from_row(row: sqlite3.Row | tuple[str, str, int | None, str | None]) -> Removal:
    return Removal(at=row[0], url=row[1], status=row[2], final_url=row[3])


def removal(conn: sqlite3.Connection, article_id: int) -> Removal | None:
    """The fetch that found the article gone, for an article that is gone now."""
    found = conn.execute(REMOVAL_SQL, (article_id,)).fetchone()
    return None if found is None else from_row(found)
