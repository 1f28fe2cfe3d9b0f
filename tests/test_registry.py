"""One engine registry: everything that lists engines derives from ``emocare.engines.registry``."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emocare import settings
from emocare.cli import app
from emocare.engines import registry
from emocare.errors import ConfigError, EngineUnavailable
from emocare.lab import bench

PACKAGE = Path(__file__).resolve().parent.parent / "emocare"


def test_names_are_unique_and_every_factory_and_file_list_resolves():
    names = registry.names(choosable=False)
    assert len(names) == len(set(names))
    for spec in registry.ENGINES:
        for target in (spec.factory, spec.files):
            module, _, attr = target.partition(":")
            assert callable(getattr(importlib.import_module(module), attr)), target
        assert all(isinstance(p, Path) for p in spec.model_paths())
    for source in registry.MODEL_SOURCES:
        assert isinstance(source.model_files(), list) and isinstance(source.is_installed(), bool)


def test_settings_bench_and_help_derive_from_the_registry():
    for name in ("auto", *registry.names()):  # every engine of the registry is a setting's value, and nothing else
        assert settings.validate(settings.Settings(engine=name)).engine == name
    with pytest.raises(ConfigError, match="is not one of auto, "):
        settings.validate(settings.Settings(engine="nope"))
    assert bench.ENGINES == registry.names(choosable=False)
    assert [s.loop.letter for s in registry.loops()] == ["A", "B", "C", "D", "E"]
    runner = CliRunner()
    watch_help = re.sub(r"\s+", " ", runner.invoke(app, ["watch", "--help"], terminal_width=200).output)
    bench_help = re.sub(r"\s+", " ", runner.invoke(app, ["bench", "--help"], terminal_width=200).output)
    for name in registry.names():
        assert name in watch_help
    listed = re.sub(r"[\s│]", "", bench_help)
    assert ",".join(registry.names(choosable=False)) + "(defaultall)" in listed  # whole, not cut with …


def test_an_engine_name_is_written_only_in_the_registry():
    """Names that are not also a package name (``fer``, ``deepface``, ``emocare`` are) appear in registry.py alone."""
    packages = {"fer", "deepface", "emocare"}
    for name in set(registry.names(choosable=False)) - packages:
        where = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                 if f'"{name}"' in p.read_text(encoding="utf-8") or f"'{name}'" in p.read_text(encoding="utf-8")]
        assert where == ["engines/registry.py"], (name, where)


def test_auto_prefers_deepfaces_model_on_disk_else_emocares_own():
    assert registry.resolve_auto(lambda: True) == "emocare-deepface"
    assert registry.resolve_auto(lambda: False) == "emocare"


def test_unknown_engine_and_wrong_detector_are_one_line_errors():
    with pytest.raises(EngineUnavailable, match="unknown engine 'nope' \\(choose auto, emocare"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="--detector 'mtcnn': emocare uses blazeface or haar"):
        registry.get("emocare").build("mtcnn")




def test_a_new_engine_is_one_registry_entry(monkeypatch, tmp_path):
    """Adding an engine: one ``EngineSpec`` and its module; settings, build and bench's lists follow."""
    module = tmp_path / "toy_engine.py"
    module.write_text(
        "import numpy as np\n"
        "from emocare.faces import Face\n"
        "class Toy:\n"
        "    last_detect_ms = last_classify_ms = None\n"
        "    def __init__(self, name, detector):\n"
        "        self.name, self.detector_name = name, detector\n"
        "    def analyze(self, image, *, stream=False):\n"
        "        return [Face(box=(0, 0, 4, 4), scores=np.full(7, 1 / 7))]\n"
        "    def classify(self, image, boxes):\n"
        "        return [Face(box=tuple(b), scores=np.full(7, 1 / 7)) for b in boxes]\n"
        "    def reset(self):\n"
        "        pass\n"
        "    def close(self):\n"
        "        pass\n"
        "def build(spec, detector):\n"
        "    return Toy(spec.name, detector)\n"
        "def files():\n"
        "    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    toy = registry.EngineSpec("toy", factory="toy_engine:build", files="toy_engine:files", footprint=())
    monkeypatch.setattr(registry, "ENGINES", (*registry.ENGINES, toy))
    from emocare import engines

    assert settings.validate(settings.Settings(engine="toy")).engine == "toy"
    engine = engines.build("toy")
    assert isinstance(engine, engines.Engine)
    faces = engines.analyze_frame(engine, __import__("numpy").zeros((8, 8, 3), "uint8"))
    assert faces.engine == "toy" and len(faces) == 1
    assert "toy" in registry.engine_help()
