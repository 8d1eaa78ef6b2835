"""The plain values both sides agree on: ``scraper`` produces them, ``archive`` keeps them.

- :mod:`contract.model`: ``Fetch``, ``Article`` (with its fields declared once, see
  :mod:`contract.fields`), ``Image`` and ``Outcome``.
- :mod:`contract.clock`: the injected clock and the archive's time format.

It imports neither ``scraper`` nor ``archive``, and nothing outside the standard library,
so both can depend on it without depending on each other.
"""
