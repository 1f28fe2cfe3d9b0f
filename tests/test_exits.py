"""Exit codes: one table (``emocare.exits.Exit``). The README's exit-code table lists exactly its codes and meanings,
in its order; no code in ``emocare/`` sets an exit code from a bare number."""

import ast
import re
from pathlib import Path

from typer.testing import CliRunner

from emocare.cli import app
from emocare.errors import ConfigError, EmocareError, EngineUnavailable, ModelMissing, SourceError
from emocare.exits import Exit, describe

ROOT = Path(__file__).resolve().parent.parent


def _readme_exit_rows() -> list[tuple[int, str]]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| exit code | meaning |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append((int(cells[0]), cells[1].replace("\\|", "|")))
    return rows


def test_the_readme_lists_the_exit_table():
    assert _readme_exit_rows() == [(int(e), e.meaning) for e in Exit]


def test_codes_are_ints_with_their_documented_numbers():
    assert [(e.name, int(e)) for e in Exit] == [("OK", 0), ("FAILED", 1), ("USAGE", 2), ("SOURCE", 3), ("ENGINE", 4),
                                                ("WEIGHTS", 5), ("INTERRUPTED", 130), ("OUTPUT_CLOSED", 141)]
    assert f"{Exit.USAGE}" == "2" and Exit.INTERRUPTED == 130


def test_errors_take_their_codes_from_the_table():
    for error, code in ((EmocareError, Exit.FAILED), (ConfigError, Exit.USAGE), (SourceError, Exit.SOURCE),
                        (EngineUnavailable, Exit.ENGINE), (ModelMissing, Exit.WEIGHTS)):
        assert error.exit_code is code


def test_the_root_help_lists_every_code():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "300"})
    assert describe(*Exit) in " ".join(result.stdout.split())
    assert describe(*Exit).startswith("Exit codes: 0 ok, 1 some inputs failed, 2 usage or config error,")


def _bare_exit_numbers(tree: ast.AST) -> list[int]:
    """Lines that give an exit code as a number literal: ``typer.Exit(3)``, ``sys.exit(2)``, ``fail(msg, 2)``,
    ``exit_code = 1``, ``{"interrupted": 130}`` in an ``exit_code`` property."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            args = node.args[1:] if name == "fail" else node.args if name in ("Exit", "exit", "_exit") else []
            if any(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in args):
                found.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", None) == "exit_code" for t in targets) and isinstance(node.value, ast.Constant):
                found.append(node.lineno)
        elif isinstance(node, ast.FunctionDef) and node.name == "exit_code":
            found += [n.lineno for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, int)]
    return found


def test_no_exit_code_is_a_bare_number():
    bare = {}
    for path in sorted((ROOT / "emocare").rglob("*.py")):
        lines = _bare_exit_numbers(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            bare[path.relative_to(ROOT).as_posix()] = lines
    assert bare == {}
