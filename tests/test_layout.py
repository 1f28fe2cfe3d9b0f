"""Layout. The window's: its layers never hide one another, the banner withdraws, group photos key each card to its
face. The package's (at the end): emocare's import graph has no cycle, and the product never imports the lab.

Rendered by the real ``Session.render`` at several canvas sizes with faces
near the top, the middle, the bottom, two and eight of them, with the
comfort banner and the key help both up. The screenshots land in
``EMOCARE_SHOTS`` when set, to look at. The same checks on real pixels,
in a real window, are in ``test_window_shots.py``.
"""

import ast
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import DATA
from emocare.faces import Face, Faces, Mood
from emocare.journal import Journal
from emocare.live import BannerFade, Session, WatchOptions
from emocare.overlay import MAX_WINDOW, MIN_TEXT_PX, Annotator, CardStyle, Fonts, inside, overlaps, window_size
from emocare.sources import Frame


class _Banner:
    muted = False

    def banner(self, t):
        return ("I'm here with you. It's okay to feel sad for a while.", None)

    def observe(self, faces):
        pass


def _faces(boxes, size, label="sad"):
    scores = np.array([0.05, 0.02, 0.1, 0.03, 0.6, 0.05, 0.15])
    mood = Mood(label=label, confidence=0.6, valence="negative" if label == "sad" else "positive", negative_for_s=6.0,
                scores=scores, since=0.0)
    return Faces(faces=tuple(Face(box=b, scores=scores, track_id=i + 1, mood=mood) for i, b in enumerate(boxes)),
                 frame_index=0, t=10.0, engine="emocare", ms=1.0, size=size, primary=1)


BOXES = {"top": [(250, 8, 110, 110)], "middle": [(260, 120, 110, 110)], "bottom": [(260, 240, 110, 110)],
         "two": [(40, 20, 100, 100), (480, 150, 120, 120)],
         "eight": [(20 + 76 * k, 60 + 90 * (k % 2), 64, 64) for k in range(8)]}


@pytest.mark.parametrize("canvas", [None, (800, 450), (1920, 1080)])
@pytest.mark.parametrize("where", list(BOXES))
@pytest.mark.parametrize("show_help", [True, False])
def test_no_layer_hides_another(tmp_path, canvas, where, show_help):
    image = cv2.resize(cv2.imread(str(DATA / "pyfeat_single_face.jpg")), (640, 360))
    with Journal(tmp_path / "j.jsonl") as journal:
        session = Session(None, journal, WatchOptions(source_label="clip.mp4", show_window=False), carer=_Banner())
        session.history.extend([(0.0, "neutral"), (6.0, "sad")])
        session.show_help = show_help
        shot = session.render(Frame(image=image, index=0, t=10.0), _faces(BOXES[where], (640, 360)), canvas)
    layout = session.layout
    rect = {n: r for n, r in layout}
    assert shot.shape[1::-1] == (canvas or window_size((640, 360)))
    regions = ["header", "stage", "panel", "footer"]
    for i, a in enumerate(regions):  # the regions tile the canvas
        for b in regions[i + 1:]:
            assert not overlaps(rect[a], rect[b]), (a, b)
    assert inside(rect["banner"], rect["frame"])
    over = [rect["banner"], *([rect["help"]] if show_help else [])]
    if show_help:
        assert not overlaps(rect["banner"], rect["help"]) and inside(rect["help"], (0, 0, *shot.shape[1::-1]))
    chips = [r for n, r in layout if n.startswith("chip:")]
    cards = [r for n, r in layout if n.startswith("card:")]
    for chip in chips:
        assert inside(chip, rect["stage"]) and not any(overlaps(chip, o) for o in over)
        assert not any(overlaps(chip, c) for c in chips if c != chip)
    for i, c in enumerate(cards):
        assert inside(c, rect["panel"]) and not any(overlaps(c, d) for d in cards[i + 1:])
    if not show_help:  # under the help box a face may lose its chip while the help is up, never otherwise
        assert len(chips) == len(BOXES[where])
    if os.environ.get("EMOCARE_SHOTS"):
        name = f"layout-{shot.shape[1]}x{shot.shape[0]}-{where}{'-help' if show_help else ''}.png"
        cv2.imwrite(str(Path(os.environ["EMOCARE_SHOTS"]) / name), shot)


def test_the_window_opens_as_large_as_fits_and_text_never_shrinks_below_readable():
    for frame in ((640, 360), (640, 480), (1920, 1080), (320, 240), (3840, 2160)):
        w, h = window_size(frame)
        assert w <= MAX_WINDOW[0] and h <= MAX_WINDOW[1] and max(w / MAX_WINDOW[0], h / MAX_WINDOW[1]) > 0.9
    fonts = Fonts()
    for u in (0.75, 1.0, 2.0):
        style = CardStyle.at(fonts, u)
        assert style.label_px >= MIN_TEXT_PX and style.title_px >= MIN_TEXT_PX


def test_the_banner_fades_once_nobody_is_negative_and_stays_withdrawn():
    fade = BannerFade(fade_s=1.0)
    assert fade.opacity(0.0, None, True) == 0.0
    assert fade.opacity(1.0, "there, there", True) == 1.0
    assert fade.opacity(5.0, "there, there", True) == 1.0
    assert fade.opacity(6.0, "there, there", False) == 1.0  # calm from now
    assert fade.opacity(6.5, "there, there", False) == pytest.approx(0.5)
    assert fade.opacity(6.6, "there, there", True) == 1.0  # sad again before it faded: back
    assert fade.opacity(7.0, "there, there", False) == 1.0
    assert fade.opacity(8.0, "there, there", False) == 0.0
    assert fade.opacity(8.5, "there, there", True) == 0.0  # withdrawn: the same message does not come back
    assert fade.opacity(9.0, "a new message", True) == 1.0  # a new comfort does


def test_a_group_photo_gets_a_numbered_card_for_every_face(tmp_path):
    """Twelve faces on a small photo: each face's chip and card share its number and colour, none is dropped, and
    no card covers another; the cards flow into more columns rather than shrink below readable."""
    image = cv2.resize(cv2.imread(str(DATA / "pyfeat_multi_face.jpg")), (600, 400))
    rng = np.random.default_rng(3)
    faces = []
    for k in range(12):
        p = rng.dirichlet(np.ones(7))
        faces.append(Face(box=(10 + 48 * k, 100 + 60 * (k % 3), 40, 40), scores=p))
    annotator = Annotator()
    out = annotator.draw(image, faces)
    assert out.shape[0] >= 400 and out.shape[1] > 600
    assert np.array_equal(out[:60, :600], image[:60])  # the photo keeps its own pixels above the chips
    names = [n for n, _ in annotator.layout]
    for k in range(1, 13):
        assert f"chip:{k}" in names and f"card:{k}" in names, k
    cards = [r for n, r in annotator.layout if n.startswith("card:")]
    for i, c in enumerate(cards):
        assert c[0] >= 600 and not any(overlaps(c, d) for d in cards[i + 1:])
    for k, face in enumerate(faces, 1):  # the chip's colour is the card's chip colour
        chip = dict(annotator.layout)[f"chip:{k}"]
        card = dict(annotator.layout)[f"card:{k}"]
        assert np.array_equal(out[chip[1] + 2, chip[0] + 3], out[card[1] + 2, card[0] + 3])
    if os.environ.get("EMOCARE_SHOTS"):
        cv2.imwrite(str(Path(os.environ["EMOCARE_SHOTS"]) / "annotate-12.png"), out)


# ---------------------------------------------------------------- the package's layout
# Every import emocare's modules make (inside functions too, where most of them are lazy; not those under
# ``if TYPE_CHECKING:``, which never run), read from the source: the import graph has no cycle, and nothing the
# product runs imports the lab (``emocare/lab/``: training and the benchmarks, the ``lab`` extra's code).
PACKAGE = Path(__file__).resolve().parent.parent / "emocare"
PRODUCT_ENTRIES = ("emocare", "emocare.api", "emocare.cli", "emocare.watch", "emocare.analyze", "emocare.report",
                   "emocare.web.server", "emocare.care")
LAB_COMMANDS = {"bench", "train"}  # cli.py's commands that import the lab: the ones named after them, their _helpers


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path, name: str, modules: dict[str, Path], skip_functions=lambda f: False,
             strings: bool = False) -> set[str]:
    """The emocare modules ``path`` imports: ``from emocare.x import y`` is ``emocare.x.y`` when that is a module.
    ``strings``: also the modules that ``"emocare.x:function"`` strings name (the engine registry's factories)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def known(dotted: str) -> str:
        while dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted

    found: set[str] = set()

    def visit(node) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and skip_functions(child.name):
                continue
            if isinstance(child, ast.Import):
                found.update(known(a.name) for a in child.names if a.name.split(".")[0] == "emocare")
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the package, up level - 1
                    up = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                if base.split(".")[0] == "emocare":
                    found.update(known(f"{base}.{a.name}") for a in child.names)
            elif strings and isinstance(child, ast.Constant) and isinstance(child.value, str):
                if re.fullmatch(r"emocare(\.\w+)+:\w+", child.value):
                    found.add(known(child.value.partition(":")[0]))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found - {name}


def _import_graph(skip_functions=lambda module, function: False, strings: bool = False) -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules, lambda f, n=name: skip_functions(n, f), strings)
            for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := walk(target)):
                return found
        state[module] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := walk(module)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = _import_graph()
    assert len(graph) > 40 and "emocare.engines.crops" in graph["emocare.engines.framing"]  # the walk sees imports
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_product_never_imports_the_lab():
    """What analyze, watch, report, serve, say, models, config and the Python API run reaches no ``emocare.lab``
    module; only ``emocare bench`` and ``emocare train`` (after their check for the lab extra) import it."""
    graph = _import_graph(lambda module, f: module == "emocare.cli" and f.lstrip("_").split("_")[0] in LAB_COMMANDS,
                          strings=True)
    seen, todo = set(), list(PRODUCT_ENTRIES) + [m for m in graph if m.startswith("emocare.web.")]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    assert "emocare.engines.emocare_model" in seen and "emocare.web.app" in seen  # the walk reaches the engines, serve
    assert {"emocare.commands.analyze", "emocare.commands.serve"} <= seen  # and the product commands' bodies
    assert not [m for m in seen if m.startswith("emocare.lab")]
    graph = _import_graph()
    assert "emocare.lab.cli" in graph["emocare.cli"]  # bench and train do, through the lab's command bodies
    assert {"emocare.lab.train", "emocare.lab.bench"} <= graph["emocare.lab.cli"]


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 50


def _sizes() -> tuple[list[str], list[str]]:
    """Modules of emocare over MAX_MODULE_LINES lines, and functions (their whole span, nested ones included) over
    MAX_FUNCTION_LINES."""
    long_modules, long_functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE.parent)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{name} ({len(text.splitlines())} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                span = node.end_lineno - node.lineno + 1
                if span > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}:{node.lineno} {node.name} ({span} lines)")
    return long_modules, long_functions


def test_no_module_over_500_lines_and_no_function_over_50():
    long_modules, long_functions = _sizes()
    assert not long_modules, "split these modules: " + ", ".join(long_modules)
    assert not long_functions, "cut these functions into named steps: " + ", ".join(long_functions)


def test_every_package_of_emocare_goes_into_the_wheel():
    """pyproject.toml lists the packages explicitly: a new sub-package left off the list is missing from the wheel
    (and from `pip install .`), though an editable checkout still imports it."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(PACKAGE.parent).parts) for p in PACKAGE.rglob("__init__.py")}
    assert found - listed == set(), "add to [tool.setuptools] packages in pyproject.toml"


def test_the_pure_stages_load_no_engine_code():
    """tracking, smoothing and care.policy take plain parameters; the defaults they read from settings must not pull
    in the engine registry (settings reads it only inside validate). Module-level imports, as Python runs them."""
    graph = _import_graph(lambda module, function: True)  # imports inside functions run later, when called
    for stage in ("emocare.tracking", "emocare.smoothing", "emocare.care.policy"):
        seen, todo = set(), [stage]
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        assert "emocare.settings" in seen  # the walk follows imports (each stage reads its defaults there)
        assert not [m for m in seen if m.startswith("emocare.engines")], stage


def test_importing_a_pure_stage_imports_no_engine_module():
    import subprocess
    import sys

    code = ("import sys, emocare.tracking, emocare.smoothing, emocare.care.policy; "
            "print(sorted(m for m in sys.modules if m.startswith('emocare.engines')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
