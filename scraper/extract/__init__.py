"""Article extraction: HTML, plain text or Markdown in, an ``contract.model.Article`` out."""

from scraper.extract.api import (
    EXTRACTOR_VERSION,
    article_to_json,
    extract_document,
    extract_html,
    extract_text,
)
from scraper.extract.jsonl import extract_jsonl
from scraper.markup import looks_like_html

__all__ = [
    "EXTRACTOR_VERSION",
    "article_to_json",
    "extract_document",
    "extract_html",
    "extract_jsonl",
    "extract_text",
    "looks_like_html",
]
