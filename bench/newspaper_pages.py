"""A second, independent page set for bench/extract.py: newspaper4k's test pages.

    pip download --no-deps --no-binary :all: newspaper4k==0.9.6 -d /tmp/np
    python bench/newspaper_pages.py /tmp/np/newspaper4k-0.9.6.tar.gz /tmp/newspaper-pages
    python bench/extract.py /tmp/newspaper-pages

The development pages (Mozilla Readability's) are what the extractor was tuned on;
these were never looked at while tuning it until a check on unseen pages was
wanted, so they tell how it does on pages it was not fitted to. The sdist of
newspaper4k (MIT licence) ships 23 real pages (CNN, Wired, Time, Nikkei,
Xinhua, Yonhap, Spanish, Latvian, Thai, Arabic and Burmese news, a Blogger post)
with the text newspaper4k extracts as its expected output. That text is one
tool's view, like Readability's: it drops image captions and some leads.

The pages are written in the layout bench/extract.py reads: ``source.html``,
``expected.html`` (one ``<p>`` per expected line) and ``expected-metadata.json``
(title, language and site name, as newspaper4k states them).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tarfile
from pathlib import Path, PurePosixPath


def _members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """The sdist's test-data files, by their path below ``tests/data``."""
    found: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        parts = PurePosixPath(member.name).parts
        if member.isfile() and parts[1:3] == ("tests", "data"):
            found["/".join(parts[3:])] = member
    return found


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = archive.extractfile(member)
    if stream is None:
        raise ValueError(f"{member.name}: not a regular file")
    return stream.read()


def convert(sdist: Path, out: Path) -> int:
    """Write one folder per page that has both HTML and expected text; their count."""
    written = 0
    with tarfile.open(sdist) as archive:
        members = _members(archive)
        for key in sorted(members):
            if not (key.startswith("html/") and key.endswith(".html")):
                continue
            name = key[len("html/") : -len(".html")]
            expected = members.get(f"txt/{name}.txt")
            if expected is None:
                continue  # a front page or feed: no article text to score against
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "source.html").write_bytes(_read(archive, members[key]))
            lines = _read(archive, expected).decode("utf-8").splitlines()
            paragraphs = "".join(f"<p>{html.escape(line)}</p>\n" for line in lines if line.strip())
            (folder / "expected.html").write_text(paragraphs, encoding="utf-8")
            meta: dict[str, str | None] = {}
            stated = members.get(f"metadata/{name}.json")
            if stated is not None:
                data = json.loads(_read(archive, stated))
                meta = {
                    "title": data.get("title") or None,
                    "lang": data.get("language") or data.get("meta_lang") or None,
                    "siteName": data.get("meta_site_name") or None,
                }
            (folder / "expected-metadata.json").write_text(json.dumps(meta), encoding="utf-8")
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="newspaper4k-*.tar.gz (its source distribution)")
    parser.add_argument("out", type=Path, help="folder to write the pages into")
    args = parser.parse_args(argv)
    try:
        count = convert(args.sdist, args.out)
    except (OSError, tarfile.TarError, ValueError) as error:
        print(f"{args.sdist}: {error}", file=sys.stderr)
        return 1
    if count == 0:
        print(f"{args.sdist}: no tests/data/html pages with expected text", file=sys.stderr)
        return 1
    print(f"{count} pages written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
