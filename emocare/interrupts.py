"""A session ends once: the first Ctrl-C (or SIGTERM, SIGHUP) stops it, the next ones wait until it has ended.

``GNU timeout -s INT`` sends its signal twice, and an impatient user presses Ctrl-C again while the journal's
``end`` line and the summary are being written; a second ``KeyboardInterrupt`` raised there would lose both.
Inside ``one_interrupt()`` the first signal is raised as usual and every later one is only noted.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

log = logging.getLogger(__name__)

SIGNALS = tuple(s for s in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None)


@contextlib.contextmanager
def one_interrupt():
    """Within: the first interrupt signal does what it did before (``KeyboardInterrupt``); later ones are noted
    and ignored, so the interrupted session can still finish its journal and summary. Restored on exit unless an
    interrupt came (then the process is ending, and the rest of its way out is kept from them too)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    state = {"interrupted": False}

    def handler(signum, frame):
        if state["interrupted"]:
            log.debug("signal %s while the session ends: it ends anyway", signum)
            return
        state["interrupted"] = True
        before = previous[signum]
        if callable(before):  # Python's own (KeyboardInterrupt) or emocare's entry point's (SIGTERM, SIGHUP)
            before(signum, frame)
        raise KeyboardInterrupt

    for sig, before in previous.items():
        if before is not signal.SIG_IGN and before is not None:  # nohup's ignored SIGHUP stays ignored
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, before in previous.items():
            if before is None or before is signal.SIG_IGN:
                continue
            # once interrupted the process is ending, and later signals stay ignored to its very end (Python puts
            # back SIG_DFL for its own handlers while it shuts down, where one would kill it: exit -2, not 130)
            signal.signal(sig, signal.SIG_IGN if state["interrupted"] else before)
