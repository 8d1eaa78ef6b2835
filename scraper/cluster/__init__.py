"""The daemon's three roles as separate processes on PostgreSQL (``[cluster]``).

``scraper run`` is scheduler, workers and archiver in one process on SQLite. With
``[cluster] database`` set, ``scraper scheduler`` (one), ``scraper worker`` (any number,
on any machine) and ``scraper archiver`` (one, beside the SQLite file) run them apart,
through Procrastinate's queues (:mod:`scraper.cluster.queue`).
"""
