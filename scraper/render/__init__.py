"""The rendering fetcher: pages whose article appears only after their scripts run.

- :mod:`scraper.render.locate`: find the system's Chromium and Playwright, before any fetch.
- :mod:`scraper.render.shell`: the ``auto`` test (does the plain page need a browser?).
- :mod:`scraper.render.browser`: the engine, the only module that imports Playwright.
- :mod:`scraper.render.procs`: the browser's processes and their memory, read from /proc.
- :mod:`scraper.render.fetcher`: the plain fetcher plus rendering, behind the same ``fetch``.
"""

# A version read from a rendered DOM carries this after the extractor's version: a switch
# between the plain and the rendering path is then a parser change, never a publisher edit.
RENDERED_TAG = "+render"
