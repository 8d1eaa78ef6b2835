"""Keep: the versioned article archive (store, version, diff, export, Datasette).

This package never imports ``scraper``; the scraper hands it the plain values
defined in :mod:`contract.model`.
"""
