"""A small real news site on 127.0.0.1 for end-to-end tests: routes can change between runs."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay_s: float = 0.0
    hold: threading.Event | None = None  # the answer waits until the test sets it


@dataclass(frozen=True)
class Served:
    """One request as the server saw it: when it arrived and when its answer was done."""

    path: str
    started: float  # time.monotonic()
    ended: float


@dataclass
class NewsSite:
    """Routes by path; ``hits`` counts requests per path, ``served`` times each request."""

    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # last request's, per path
    lock: threading.Lock = field(default_factory=threading.Lock)
    served: list[Served] = field(default_factory=list)
    # (path, client port) of each request that starts waiting on its route's hold
    held: queue.Queue[tuple[str, int]] = field(default_factory=queue.Queue)

    def set(
        self,
        path: str,
        body: str | bytes,
        *,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        delay_s: float = 0.0,
        hold: threading.Event | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self.lock:
            self.routes[path] = Route(data, content_type, status, delay_s, hold)

    def url(self, path: str) -> str:
        return self.base_url + path


def _handler(site: NewsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            started = time.monotonic()
            try:
                self._answer()
            finally:
                path = self.path.split("?")[0]
                with site.lock:
                    site.served.append(Served(path, started, time.monotonic()))

        def _answer(self) -> None:
            path = self.path.split("?")[0]
            with site.lock:
                route = site.routes.get(path)
                site.hits[path] = site.hits.get(path, 0) + 1
                site.headers[path] = {k.lower(): v for k, v in self.headers.items()}
            if route is None:
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b"not found")
                return
            if route.delay_s:
                time.sleep(route.delay_s)
            if route.hold is not None:
                site.held.put((path, self.client_address[1]))
                route.hold.wait(timeout=120)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (a daemon stopping mid-fetch); nothing to answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests assert on what the archive recorded."""

    return Handler


@contextmanager
def serve_site(host: str = "127.0.0.1") -> Iterator[NewsSite]:
    """The site on ``host`` (any 127.x.y.z: a second host name with its own politeness slot)."""
    site = NewsSite()
    server = ThreadingHTTPServer((host, 0), _handler(site))
    server.daemon_threads = True
    site.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    comments: int = 0,
    related: Sequence[str] = (),
    views: int = 0,
) -> str:
    """A news page with the usual noise around the article: nav, share bar, related box,
    caption table, comment counter and view counter."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    related_items = "".join(
        f'<li><a href="/related/{i}">{r}</a></li>' for i, r in enumerate(related)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Daily Test</title>
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2026-11-20T08:00:00+01:00">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tech">Tech</a></nav></header>
<main><article>
<h1>{title}</h1>
<div class="byline">By Jane Reporter</div>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Tweet</a></div>
{body}
<table class="image-caption"><tr><td><img src="/img/1.jpg" alt=""></td></tr>
<tr><td>The harbour at dawn. Photo: Daily Test</td></tr></table>
<div class="views">{views} views</div>
</article>
<aside class="related"><h3>Related articles</h3><ul>{related_items}</ul></aside>
<section class="comments"><h3>Comments ({comments})</h3></section>
</main>
<footer><p>&copy; Daily Test</p></footer>
</body></html>"""


def rss_feed(site: NewsSite, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>Item {i}</title><link>{site.url(p)}</link></item>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Daily Test</title><link>{site.base_url}/</link>{items}</channel></rss>"
    )
