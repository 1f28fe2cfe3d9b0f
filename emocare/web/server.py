"""``emocare serve``: waitress serving ``app.create_app`` on its own threads, ``watch.run`` on the caller's.

Why waitress: a production WSGI server in pure Python (no compiler, no C extension, runs wherever emocare's
wheels do, Windows included), with a fixed pool of worker threads and bounded output buffers per connection.
Flask's own server is for development, and gunicorn does not run on Windows.

The pool is sized for ``max_streams`` long-lived responses (each viewer holds two: video and events) plus a
few for pages; a stream beyond that is answered 503 instead of waiting for a thread. A connection that stops
reading holds at most ``OUTBUF_BYTES`` before its worker waits (and the hub, which it no longer asks for
frames, forgets it): nothing grows with time.
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from emocare.errors import ConfigError, OutputError

# per connection, before its worker waits for the viewer: a few video frames (9 to 60 KB each). Waitress also keeps
# up to this much already sent in a connection's buffer before starting a new one, so it is the memory a
# viewer costs too: 512 KB made 20 viewers' server grow by 10 MB over a minute before it levelled off.
OUTBUF_BYTES = 64 * 1024
PAGE_THREADS = 8


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address; no name is looked up."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str) -> None:
    """``--host`` must be an address (or localhost): a name would need a lookup, and could change under us."""
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ConfigError(f"--host {host!r}: give an IP address such as 127.0.0.1 or 0.0.0.0 (or localhost)") from None


ANY = ("0.0.0.0", "::", "[::]")  # every interface


def own_addresses() -> list[str]:
    """This machine's IPv4 address other devices reach it by, found without sending anything or asking a name
    server: the one a datagram socket would leave by (``connect`` on UDP only picks a route)."""
    found: set[str] = set()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 9))
            found.add(s.getsockname()[0])
    except OSError:  # no route: no network
        pass
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback and a != "0.0.0.0")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    max_streams: int = 48  # 24 viewers (video + events each)
    history: Sequence[Path] = ()  # journals or folders of them, besides the user data folder's
    token: str | None = None  # None: generated when the host is not loopback
    cache_dir: Path | None = None  # the history's summaries (None: the user cache folder's emocare/history)
    config: Path | None = None
    overrides: dict = field(default_factory=dict)


class Server:
    """The bound waitress server and the app's hub; ``start`` serves on a thread, ``close`` ends every stream
    and joins it. A context manager."""

    def __init__(self, options: ServeOptions, *, lang: str, live: bool, places: Sequence[Path],
                 messages: Mapping | None = None, lang_chosen: bool = False):
        from waitress import create_server

        from emocare.web.app import WebConfig, create_app
        from emocare.web.comfort import Counterparts
        from emocare.web.hub import LiveHub

        check_host(options.host)
        loopback = is_loopback(options.host)
        if not 0 <= options.port <= 65535:
            raise ConfigError(f"--port {options.port}: not a port (0-65535; 0 picks a free one)")
        self.token = options.token or (None if loopback else secrets.token_urlsafe(24))
        # messages: the session's comfort words (settings.messages), to say each comfort in both page languages
        self.hub = LiveHub(max_streams=options.max_streams, counterparts=Counterparts(messages)) if live else None
        allowed = frozenset({"127.0.0.1", "localhost", "::1"}) if loopback else frozenset()
        if options.cache_dir is not None:
            cache_dir = options.cache_dir
        else:
            from platformdirs import user_cache_dir

            cache_dir = Path(user_cache_dir("emocare")) / "history"
        web = WebConfig(lang=lang, lang_chosen=lang_chosen, token=self.token, allowed_hosts=allowed, config=options.config,
                        overrides=dict(options.overrides), places=tuple(places), cache_dir=cache_dir,
                        csrf_file=cache_dir.parent / "serve-csrf")
        self.app = create_app(web, self.hub)
        self.history = self.app.extensions["emocare"]["history"]
        try:
            self.server = create_server(self.app, host=options.host.strip("[]"), port=options.port,
                                        threads=options.max_streams + PAGE_THREADS,
                                        outbuf_high_watermark=OUTBUF_BYTES, channel_timeout=30,
                                        connection_limit=options.max_streams + 4 * PAGE_THREADS,
                                        asyncore_use_poll=True, ident="emocare", clear_untrusted_proxy_headers=True)
        except (OSError, ValueError) as exc:  # in use, not ours, or not an address waitress can bind
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            why = {errno.EADDRINUSE: f"{why}; another port: --port N",
                   errno.EADDRNOTAVAIL: "not an address of this machine; try 0.0.0.0"}.get(getattr(exc, "errno", None), why)
            raise OutputError(f"--host {options.host} --port {options.port}: cannot listen there ({why})") from None
        self.host = options.host
        self.port = int(self.server.effective_port)
        self._thread = threading.Thread(target=self._run, name="serve-http", daemon=True)
        self._closing = threading.Event()

    @property
    def url(self) -> str:
        """The address to open on this machine (loopback when listening on every interface)."""
        return self._url(self.host if self.host not in ANY else "127.0.0.1")

    def other_urls(self) -> list[str]:
        """Where other devices reach it: this machine's own addresses when listening on every interface."""
        return [self._url(a) for a in own_addresses()] if self.host in ANY else []

    def _url(self, host: str) -> str:
        host = f"[{host.strip('[]')}]" if ":" in host else host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):  # the listening socket closed under the loop at shutdown
            pass

    def start(self) -> "Server":
        self._thread.start()
        # read every journal once now, so the history page's first load finds them summarised
        threading.Thread(target=self._read_history, name="serve-history", daemon=True).start()
        return self

    def _read_history(self) -> None:
        self.history.all()
        # the summaries to disk a little later, so a first page asked for meanwhile does not wait for the writing
        # (its own save, once it is sent, may have written them already); not at all once the server closes
        if not self._closing.wait(3.0):
            self.history.save()

    def close(self) -> None:
        self._closing.set()
        if self.hub is not None:
            self.hub.close()  # every stream ends at its next wake-up (within a second)
            deadline = time.monotonic() + 3.0
            while self.hub.streams and time.monotonic() < deadline:
                time.sleep(0.05)
        # the workers first: one finishing a response wakes the loop through its trigger, which close() shuts
        self.server.task_dispatcher.shutdown(timeout=5)
        self.server.close()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def serve(settings, request, options: ServeOptions, *, sinks: Sequence = (),
          on_ready: Callable[[Server], None] = lambda server: None,
          on_watched: Callable[[object], None] = lambda run: None,
          wait: Callable[[], None] | None = None, **watch_kw) -> object | None:
    """Serve the pages; with a ``request`` (a camera, file or stream), watch it through ``watch.run`` with the
    page as one more sink. After the source ends the pages stay up until ``wait`` returns (default: until
    Ctrl-C). Returns the ``WatchRun`` (None with no request)."""
    from emocare import journal as journal_mod
    from emocare import watch

    places = [journal_mod.journals_dir(), *options.history]
    if request is not None and request.journal is not None:
        places.append(request.journal)
    run = None
    with Server(options, lang=settings.language, live=request is not None, places=places,
                messages=settings.messages, lang_chosen=bool(settings.lang)) as server:
        if request is None:
            on_ready(server)
        else:  # the address is announced once the source is open: a camera that is not there is one line, no address
            on_journal = watch_kw.pop("on_journal", lambda path: None)

            def opened(path) -> None:
                on_ready(server)
                on_journal(path)

            server.hub.watching(watch.label_of(request, settings))  # named while the engine loads
            run = watch.run(settings, request, [server.hub, *sinks], on_journal=opened, **watch_kw)
            on_watched(run)
            if run.result.reason == "interrupted":
                return run
        (wait or _until_interrupted)()
    return run


def _until_interrupted() -> None:
    stop = threading.Event()
    while not stop.wait(3600):
        pass
