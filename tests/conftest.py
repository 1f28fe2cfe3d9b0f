"""Shared fixtures. No test may reach the network: sockets to non-local hosts fail."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def ctrl_c_reaches_child() -> None:
    """``preexec_fn`` for a child that a test interrupts: a shell running the suite in the background
    ignores SIGINT for its jobs, and that would be inherited; a user's terminal delivers it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
ROOT = Path(__file__).parent.parent
VENV_BIN = Path(sys.executable).parent


def pytest_configure(config):
    # tests import fer/deepface directly too: give TensorFlow the same settings the engines give it
    from emocare.engines._quiet import prepare_tensorflow_env

    prepare_tensorflow_env()


def _is_local(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/"))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs as if offline: connecting anywhere but loopback raises OSError."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family == getattr(socket, "AF_UNIX", None) or _is_local(address):
            return real_connect(self, address)
        raise OSError(101, "Network is unreachable (blocked in tests)")

    def guarded_create_connection(address, *a, **kw):
        raise OSError(101, "Network is unreachable (blocked in tests)")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **kw: (_ for _ in ()).throw(socket.gaierror("offline (tests)")))


@pytest.fixture(scope="session")
def random_deepface_home(tmp_path_factory) -> Path:
    """A DEEPFACE_HOME whose emotion weights are DeepFace's own architecture with random values."""
    from emocare.engines import weights

    home = tmp_path_factory.mktemp("deepface_home")
    old = os.environ.get("DEEPFACE_HOME")
    os.environ["DEEPFACE_HOME"] = str(home)
    try:
        weights.build_random_emotion_weights(weights.emotion_weights_path(), seed=1)
    finally:
        if old is None:
            os.environ.pop("DEEPFACE_HOME", None)
        else:
            os.environ["DEEPFACE_HOME"] = old
    return home


@pytest.fixture
def deepface_home(random_deepface_home, monkeypatch) -> Path:
    monkeypatch.setenv("DEEPFACE_HOME", str(random_deepface_home))
    return random_deepface_home


@pytest.fixture
def unmarked_deepface_home(random_deepface_home, tmp_path, monkeypatch) -> Path:
    """A DEEPFACE_HOME with those weights but without the mark ``models build-random`` leaves: weights as a real
    download holds them, for what ``--engine auto`` picks (it never picks marked ones)."""
    import h5py

    from emocare.engines import weights

    src = random_deepface_home / ".deepface" / "weights" / weights.EMOTION_WEIGHTS
    target = tmp_path / "unmarked" / ".deepface" / "weights" / weights.EMOTION_WEIGHTS
    target.parent.mkdir(parents=True)
    shutil.copyfile(src, target)
    with h5py.File(target, "a") as f:
        del f.attrs[weights.RANDOM_MARK]
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path / "unmarked"))
    return tmp_path / "unmarked"


@pytest.fixture
def empty_deepface_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def fer_engine():
    from emocare.engines import build

    return build("fer")


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """No test reads the developer's own config file or writes into their data dirs."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("EMOCARE_CONFIG", raising=False)
    # nor the developer's DeepFace weights: 'auto' must choose the same engine on every machine
    # (tests that want weights take the deepface_home fixture)
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path / "no-deepface-weights"))
