"""When to look at an article again: pure functions of its age and change history.

News edits cluster early and in a few stories: most articles never change
after the first hours, a developing story changes many times. So the expected
edit rate of an article is modelled as ``m / (age + settle)``, decaying with
age, where ``m`` is the article's own "liveliness". We start from a prior
(``prior_changes`` edits over ``prior_exposure`` units of log-age) and update
it with what we have seen: every observed change raises ``m``, every quiet
stretch lowers it. The next check is placed where about ``ratio`` edits are
expected, bounded by ``min_interval`` and ``max_interval``.

With no history this is the staleness-ratio rule (``interval = ratio × age``);
history moves checks towards the stories that really change.

The bounds hold from the first check: a brand-new article is checked again after
``min_interval``. ``settle`` is shortened to ``min_interval / ratio`` when that is less,
so with ``min_interval = "20s"`` the first revisit comes after 20 s, not after
``ratio × settle`` = 720 s. (With the default 15 minutes nothing changes: 720 s is below
the bound, which already makes the first interval 900 s.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY = 86_400.0


@dataclass(frozen=True)
class History:
    """What the archive knows about one article when it schedules the next check."""

    age_s: float  # since the archive first saw it
    changes: int  # publisher edits observed after the first version
    gone: bool = False


@dataclass(frozen=True)
class RevisitPolicy:
    min_interval: float = 900.0
    max_interval: float = 7 * DAY
    budget_per_hour: int = 120  # revisits per source per hour; new articles are not counted
    ratio: float = 0.2  # share of the age to wait when nothing is known yet
    settle: float = 3600.0  # seconds; keeps the rate finite for brand-new articles
    prior_changes: float = 1.0
    prior_exposure: float = 1.0  # in units of log-age (ln(1 + age/settle))
    failure_cap: float = DAY  # back-off after failures grows up to this, then stays

    def next_interval(self, history: History) -> float:
        """Seconds until the next check of a fetched article."""
        age = max(history.age_s, 0.0)
        settle = self.settle_s()
        exposure = math.log1p(age / settle)
        # Posterior liveliness relative to the prior: 1 when the article behaves as expected.
        liveliness = ((self.prior_changes + history.changes) / (self.prior_exposure + exposure)) / (
            self.prior_changes / self.prior_exposure
        )
        interval = self.ratio * (age + settle) / liveliness
        if history.gone:
            interval *= 4  # a gone page rarely returns; keep looking, slowly
        return self.bounded(interval)

    def settle_s(self) -> float:
        """The settle time in use: never so long that a new article waits past min_interval."""
        return min(self.settle, self.min_interval / self.ratio)

    def failure_backoff(self, consecutive_failures: int) -> float:
        """Exponential back-off after failures: min_interval × 2^(n-1), capped, never dropped."""
        if consecutive_failures <= 0:
            return self.min_interval
        exponent = min(consecutive_failures - 1, 32)
        return min(self.min_interval * 2.0**exponent, max(self.failure_cap, self.min_interval))

    def claim_lease(self) -> float:
        """How long a handed-out article stays claimed before it is due again (crash safety)."""
        return self.min_interval

    def bounded(self, interval: float) -> float:
        return min(max(interval, self.min_interval), self.max_interval)
