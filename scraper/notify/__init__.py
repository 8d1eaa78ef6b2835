"""Alerts on edits, removals, returns and source trouble, sent through Apprise ([notify]).

- ``events``: what is told (frozen values);
- ``batch``: when: one message per target and source per dispatch interval, retries
  with backoff (pure decisions over an injected clock);
- ``compose``: the message, read from the committed archive (title, URL, what changed,
  the first changed words, a link to the history page);
- ``apprise_sender``: the only module that imports Apprise;
- ``notifier``: the daemon's part: raised after commit, sources judged on their runs,
  messages sent off the event loop.
"""
