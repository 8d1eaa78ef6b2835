"""Golden pages for the rendering tests: their article exists only after a script runs.

Written for these tests: an app built from inline JSON, one built from a ``fetch()`` to its
own host, a page that tries to reach where it may not, and pages that never finish, eat
memory or open popups.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

STORY_TITLE = "Harbour tides reach a fifty-year high"
STORY = [
    "The spring tide in the old harbour rose higher on Sunday night than at any time since "
    "the gauges were installed fifty years ago, the port authority said on Monday.",
    "Water reached the steps of the fish market shortly after midnight, and the night crews "
    "moved the morning catch to the upper hall before the quay was closed to traffic.",
    "Engineers will inspect the sea wall this week; the council has asked residents of the "
    "lower streets to keep sandbags at their doors until the autumn storms have passed.",
]
FETCHED_TITLE = "Night trains return to the valley line"
FETCHED = [
    "Night trains will run again on the valley line from next month, the rail operator "
    "announced, after three years in which the last service left the city before ten.",
    "The new timetable adds two departures after midnight on Fridays and Saturdays, and the "
    "operator says the stations on the line will stay staffed until the last train has gone.",
    "Commuter groups welcomed the change but asked for the weekday services to follow soon.",
]
PLAIN_TITLE = "Library opens a reading room on the river"
PLAIN = [
    "The city library opened a new reading room on the river side of its old building on "
    "Saturday, with space for two hundred readers and a view over the water meadows.",
    "The room was paid for by a bequest from a retired schoolteacher, who asked that it stay "
    "open late on weekdays so that students and shift workers could use it too.",
    "Its shelves hold the local history collection, moved from the basement archive.",
]


def chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def inline_app() -> str:
    """A React-style app shell: the story is inline JSON, a script writes the article."""
    data = json.dumps({"title": STORY_TITLE, "paragraphs": STORY})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loading…</title></head>
<body>
<noscript>You need to enable JavaScript to run this app.</noscript>
<div id="root"></div>
<script id="__STATE__" type="application/json">{data}</script>
<script>
const state = JSON.parse(document.getElementById("__STATE__").textContent);
const root = document.getElementById("root");
root.setAttribute("data-rendered-at", String(Date.now()));
root.innerHTML = "<main><article><h1>" + state.title + "</h1>" +
  state.paragraphs.map(p => "<p>" + p + "</p>").join("") + "</article></main>";
document.title = state.title;
</script>
</body></html>"""


def fetching_app() -> str:
    """A Next-style shell: the article comes from a fetch() to the page's own host."""
    return """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title>
<script src="/static/app.js" defer></script></head>
<body><div id="__next"></div></body></html>"""


APP_JS = """
fetch("/api/story.json").then(r => r.json()).then(story => {
  const root = document.getElementById("__next");
  root.setAttribute("data-build", String(Math.random()));
  const article = document.createElement("article");
  const h1 = document.createElement("h1");
  h1.textContent = story.title;
  article.appendChild(h1);
  for (const text of story.paragraphs) {
    const p = document.createElement("p");
    p.textContent = text;
    article.appendChild(p);
  }
  root.appendChild(article);
  document.title = story.title;
});
"""


def story_json() -> str:
    return json.dumps({"title": FETCHED_TITLE, "paragraphs": FETCHED})


def plain_page(extra_script: str = "") -> str:
    """A server-rendered article; ``extra_script`` may add to it once it runs."""
    body = "".join(f"<p>{p}</p>" for p in PLAIN)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{PLAIN_TITLE}</title></head>
<body><main><article><h1>{PLAIN_TITLE}</h1>{body}<div id="more"></div></article></main>
<script>{extra_script}</script></body></html>"""


ADDED_BY_SCRIPT = (
    "A late paragraph written by the page's own script: the reading room will also host "
    "evening talks by local historians once a month, starting in the spring."
)


def guard_page(other_port: int) -> str:
    """Every way a page may try to reach what it must not; then it writes its article."""
    other = f"127.0.0.1:{other_port}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Guarded</title>
<link rel="preconnect" href="http://{other}/">
<link rel="dns-prefetch" href="http://{other}/">
<link rel="stylesheet" href="http://{other}/style.css">
<script src="https://www.google-analytics.com/analytics.js"></script>
</head>
<body><div id="root"></div>
<iframe src="http://{other}/frame"></iframe>
<img src="http://{other}/pixel.gif">
<script>
const tries = [
  fetch("http://{other}/steal?from=fetch").catch(() => "refused"),
  fetch("http://10.20.30.40/private").catch(() => "refused"),
  fetch("http://169.254.169.254/latest/meta-data/").catch(() => "refused"),
  fetch("file:///etc/passwd").catch(() => "refused"),
  fetch("/api/story.json").then(r => r.json()).then(s => s.title).catch(() => "failed"),
];
try {{ new WebSocket("ws://{other}/socket"); }} catch (e) {{}}
try {{ navigator.sendBeacon("http://{other}/beacon", "x"); }} catch (e) {{}}
const xhr = new XMLHttpRequest();
xhr.open("GET", "http://{other}/steal?from=xhr");
xhr.send();
Promise.all(tries).then(results => {{
  document.getElementById("root").innerHTML = "<article><h1>Guarded</h1><p id=results>" +
    results.join(" | ") + "</p></article>";
}});
</script></body></html>"""


NEVER_LOADS = """<!doctype html><html><head><title>slow</title>
<script src="/static/forever.js"></script></head><body><p>waiting</p></body></html>"""

SPINS = """<!doctype html><html><head><title>spin</title></head><body><div id="root"></div>
<script>while (true) {}</script></body></html>"""

EATS_MEMORY = """<!doctype html><html><head><title>hog</title></head><body><div id="root"></div>
<script>
const kept = [];
while (true) { kept.push(new Array(1 << 20).fill(kept.length)); }
</script></body></html>"""

POPUPS = """<!doctype html><html><head><title>popups</title></head><body><div id="root"></div>
<script>
for (let i = 0; i < 50; i++) { window.open("/popup/" + i, "w" + i); }
document.getElementById("root").innerHTML =
  "<article><h1>Popups</h1><p>Fifty windows were asked for.</p></article>";
</script></body></html>"""


def two_origins_app(other_base: str) -> str:
    """Fetches its story from its own host and a counter from another origin."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title></head>
<body><div id="__next"></div>
<script>
fetch("{other_base}/counter.json").catch(() => null);
fetch("/api/story.json").then(r => r.json()).then(story => {{
  document.getElementById("__next").innerHTML = "<article><h1>" + story.title + "</h1>" +
    story.paragraphs.map(p => "<p>" + p + "</p>").join("") + "</article>";
}});
</script></body></html>"""
