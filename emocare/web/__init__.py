"""``emocare serve``: the live companion, its history and its settings as local web pages.

- ``hub.LiveHub``: the sink ``watch.run`` feeds (frames, moods, journal lines) and the page reads; one slot per
  kind of data, so a slow or absent viewer costs the session nothing.
- ``history``: sessions by day, time in each mood, timelines, read from the listed journal folders only
  (``places``), summarised by ``journal_read`` into ``sessions``' views.
- ``config_edit``: the comfort messages edited, validated and saved into the config file.
- ``app.create_app``: the Flask app, its routes in groups (``checks``: token, Host and CSRF checks;
  ``live_routes``, ``history_routes``, ``settings_routes``) sharing ``pages.AppState``; ``server.serve``:
  waitress plus ``watch.run``.

Flask, Jinja and waitress are imported only here, so ``emocare --help`` never loads them.
"""
