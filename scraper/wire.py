"""One fetch in progress, as the fetcher's parts share it: its deadline and bytes read,
one answer from the server, and the failures that end it (no HTTP library here)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from contract.model import Outcome


class Failure(Exception):
    """Ends a fetch with an outcome and a sentence for the user.

    ``cause`` is the same in a few words ("connection refused"), for a message that
    already names the URL, such as a page's "robots.txt unreachable: ..." line.
    """

    def __init__(
        self, outcome: Outcome, error: str, status: int | None = None, *, cause: str | None = None
    ) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.status = status
        self.cause = cause or error


class TransportFault(Exception):
    """The connection failed before an answer: ``message`` names host and URL (without the
    number of attempts), ``cause`` says it in a few words; ``refused``: a scheme the
    transport does not speak, never worth a retry."""

    def __init__(self, message: str, cause: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.refused = refused


@dataclass
class Run:
    """One fetch in progress: what the deadline message and the retries need to know."""

    url: str
    timeout: asyncio.Timeout
    deadline: float
    deadline_at: float | None = None
    received: int = 0  # raw bytes read from the network over all attempts

    def start_deadline(self) -> None:
        if self.deadline_at is None:
            self.deadline_at = asyncio.get_running_loop().time() + self.deadline
            self.timeout.reschedule(self.deadline_at)

    def remaining(self) -> float:
        if self.deadline_at is None:
            return self.deadline
        return max(self.deadline_at - asyncio.get_running_loop().time(), 0.0)


@dataclass(frozen=True)
class Exchange:
    """One request's answer; the body only for a 2xx."""

    url: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None
