"""``emocare serve``: the live companion, its history and its settings as local web pages.

- ``hub.LiveHub``: the sink ``watch.run`` feeds (frames, moods, journal lines) and the page reads; one slot per
  kind of data, so a slow or absent viewer costs the session nothing.
- ``history``: sessions by day, time in each mood, timelines, read from the listed journal folders only.
- ``config_edit``: the comfort messages edited, validated and saved into the config file.
- ``app.create_app``: the Flask routes, token and CSRF checks; ``server.serve``: waitress plus ``watch.run``.

Flask, Jinja and waitress are imported only here, so ``emocare --help`` never loads them.
"""
