"""Acquire: configuration, scheduling, fetching and article extraction."""

__version__ = "0.1.0"
