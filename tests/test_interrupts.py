"""Ctrl-C at the unlucky moments, made deterministic: while a native module initialises (it comes back as an
ImportError), and while ``quiet_native`` puts the terminal's descriptors back. The end-to-end check with real
signals, ``test_ctrl_c_while_importing_is_one_line``, sends them only after emocare says it is ready
(``EMOCARE_READY_FD``): a signal sent earlier could land while Python itself starts, where nothing can catch it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types

import pytest
import typer

from conftest import DATA, VENV_BIN, ctrl_c_reaches_child
from emocare import _entry, cli, interrupts
from emocare.engines import _quiet
from emocare.errors import EngineUnavailable, caused_by_interrupt


def _import_failed_by_ctrl_c() -> ImportError:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:  # what pybind11 does when its module init is interrupted
            raise ImportError("initialization failed") from ki
    except ImportError as exc:
        return exc


def test_the_interrupt_is_found_through_causes_and_contexts():
    imp = _import_failed_by_ctrl_c()
    assert caused_by_interrupt(imp)
    try:
        try:
            raise imp
        except ImportError:
            raise EngineUnavailable("emotion engine 'fer' is not installed") from None  # context kept, not shown
    except EngineUnavailable as wrapped:
        assert caused_by_interrupt(wrapped)
    assert not caused_by_interrupt(ImportError("No module named 'fer'"))


def test_run_guarded_maps_an_interrupted_import_to_130_and_leaves_other_errors_alone(capsys):
    def interrupted():
        raise _import_failed_by_ctrl_c()

    with pytest.raises(typer.Exit) as info:
        cli.run_guarded(interrupted)
    assert info.value.exit_code == 130 and capsys.readouterr().err == ""  # main() says "interrupted", once

    def unavailable():
        raise EngineUnavailable("emotion engine 'fer' is not installed")

    with pytest.raises(typer.Exit) as info:
        cli.run_guarded(unavailable)
    assert info.value.exit_code == 4 and capsys.readouterr().err.startswith("emocare: error: emotion engine")

    def broken():
        raise ImportError("No module named 'fer'")

    with pytest.raises(ImportError):  # a real bug still shows itself
        cli.run_guarded(broken)


def test_the_entry_point_says_interrupted_once_for_an_interrupted_import(monkeypatch, capsys):
    def cli_main():
        raise _import_failed_by_ctrl_c()

    monkeypatch.setattr(cli, "main", cli_main)
    with pytest.raises(SystemExit) as info:
        _entry.main()
    assert info.value.code == 130
    assert capsys.readouterr().err == "emocare: interrupted\n"


@pytest.mark.parametrize("when", ["before", "after"])
def test_ctrl_c_while_the_descriptors_are_put_back_still_puts_them_back(monkeypatch, when):
    """The first restoring dup2 is interrupted just before or just after it takes effect: both descriptors
    must end where they started, and the interrupt must still come out."""
    start = {fd: os.fstat(fd) for fd in (1, 2)}
    real_dup2, calls = os.dup2, []

    def dup2(a, b):
        calls.append(b)
        if len(calls) == 3:  # calls 1-2 redirect descriptors 1 and 2; call 3 is the first restore
            if when == "after":
                real_dup2(a, b)
            raise KeyboardInterrupt
        return real_dup2(a, b)

    monkeypatch.setattr(os, "dup2", dup2)
    with pytest.raises(KeyboardInterrupt):
        with _quiet.quiet_native():
            assert (os.fstat(2).st_ino, os.fstat(2).st_dev) != (start[2].st_ino, start[2].st_dev)
    monkeypatch.undo()
    assert len(calls) >= 4
    for fd in (1, 2):
        now = os.fstat(fd)
        assert (now.st_ino, now.st_dev) == (start[fd].st_ino, start[fd].st_dev), fd


def test_quiet_native_replays_what_a_failing_library_said(capfd):
    with pytest.raises(RuntimeError):
        with _quiet.quiet_native():
            os.write(2, b"libfoo: cannot find libbar.so\n")
            raise RuntimeError("load failed")
    assert "libfoo: cannot find libbar.so" in capfd.readouterr().err
    with _quiet.quiet_native():
        os.write(2, b"INFO: created XNNPACK delegate\n")
    assert "XNNPACK" not in capfd.readouterr().err


def _sigint_blocked() -> bool:
    import signal

    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def _report_mask(out) -> None:
    out.put(_sigint_blocked())


@pytest.mark.skipif(not hasattr(__import__("signal"), "pthread_sigmask"), reason="POSIX signal masks")
def test_analysis_workers_start_with_ctrl_c_blocked_and_the_parent_gets_it_back():
    """``analyze --jobs`` workers must not see Ctrl-C at all (one interrupted while Python starts prints a traceback
    nothing can catch); the parent, which reports it once and ends them, must see it again once they are started."""
    import multiprocessing

    from emocare.analyze import _ctrl_c_stays_here

    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    assert not _sigint_blocked()
    with _ctrl_c_stays_here():
        worker = context.Process(target=_report_mask, args=(out,))
        worker.start()
    assert not _sigint_blocked()
    assert out.get(timeout=60) is True
    worker.join(timeout=60)


FIRST_WORKER = """
import multiprocessing, signal, sys
from emocare.analyze import _ctrl_c_stays_here

def report(conn):
    conn.send(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()  # no Queue: nothing has started the resource tracker before the first worker
    with _ctrl_c_stays_here():
        worker = context.Process(target=report, args=(there,))
        worker.start()
    print(here.recv(), signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    worker.join()
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "pthread_sigmask"), reason="POSIX signal masks")
def test_the_first_worker_of_a_fresh_process_starts_with_ctrl_c_blocked(tmp_path):
    """The first spawn starts multiprocessing's resource tracker, which unblocks SIGINT behind our back: the first
    worker of a run was open to Ctrl-C (a CI run printed its ``Fatal Python error: init_import_site``)."""
    script = tmp_path / "first_worker.py"
    script.write_text(FIRST_WORKER)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False"]  # blocked in the worker; the parent has it back


def _ready_then_interrupted(args, delay: float) -> subprocess.CompletedProcess:
    """Run the real ``emocare`` with ``EMOCARE_READY_FD``; once it says it is ready, wait ``delay`` s, then Ctrl-C."""
    read, write = os.pipe()
    try:
        proc = subprocess.Popen([str(VENV_BIN / "emocare"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, pass_fds=(write,),
                                env={**os.environ, _entry.READY_FD: str(write)}, preexec_fn=ctrl_c_reaches_child)
        os.close(write)
        write = -1
        with os.fdopen(read, "rb") as ready:
            read = -1
            said = ready.readline()  # blocks until emocare says it, or until it exits without saying it
        assert said == b"ready\n", (said, proc.poll())
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3])
def test_ctrl_c_while_importing_is_one_line(delay):
    """Ctrl-C at any moment after emocare says it is ready (while the CLI, OpenCV and the engine import): exit 130
    and the one line, or, if it was quicker than the signal, its normal result; never a traceback. The signal waits
    for the ready line, so it can never land while Python itself is starting (where nothing can catch it)."""
    r = _ready_then_interrupted(["analyze", str(DATA / "pyfeat_single_face.jpg")], delay)
    assert "Traceback" not in r.stderr and "Fatal Python error" not in r.stderr, (delay, r.stderr)
    if r.returncode == 130:
        assert [line for line in r.stderr.splitlines() if line.startswith("emocare:")] == ["emocare: interrupted"]
        assert r.stderr == "emocare: interrupted\n" or r.stderr.endswith("emocare: interrupted\n"), r.stderr
    else:
        assert r.returncode == 0 and "happy" in r.stdout, (delay, r.returncode, r.stderr)


def test_the_ready_line_is_not_passed_on(monkeypatch):
    """Only the process it was meant for says it: the variable is gone before anything runs (workers, players)."""
    read, write = os.pipe()
    monkeypatch.setenv(_entry.READY_FD, str(write))
    _entry._say_ready()
    assert _entry.READY_FD not in os.environ
    with os.fdopen(read, "rb") as ready:
        assert ready.read() == b"ready\n"  # and its end was closed: the reader sees the end of the pipe


def test_an_interrupt_python_could_only_report_is_raised_again():
    """A KeyboardInterrupt that lands in a weakref callback reaches ``sys.unraisablehook`` (Python printed it, with a
    traceback, and went on): emocare's hook sends SIGINT again, so the main code ends in its one line; any other
    unraisable exception goes to the hook before it."""
    seen, signals = [], []
    hook = _entry._unraisable_interrupt(seen.append)
    before = signal.signal(signal.SIGINT, lambda signum, frame: signals.append(signum))
    try:
        hook(types.SimpleNamespace(exc_type=KeyboardInterrupt))
        other = types.SimpleNamespace(exc_type=ValueError)
        hook(other)
    finally:
        signal.signal(signal.SIGINT, before)
    assert signals == [signal.SIGINT] and seen == [other]


def test_a_late_interrupt_is_ignored_once_the_work_is_done(monkeypatch):
    """After the CLI returns (its result written, its exit code chosen) SIGINT, SIGTERM and SIGHUP are ignored, so
    one landing while Python shuts down (where it would be SIG_DFL again) cannot turn exit 0 into a kill (-2)."""
    saved = {sig: signal.getsignal(sig) for sig in interrupts.SIGNALS}
    monkeypatch.setattr(_entry, "_main", lambda: None)
    try:
        _entry.main()
        assert all(signal.getsignal(sig) is signal.SIG_IGN for sig in interrupts.SIGNALS)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
