"""Run every command of the README's ``sh`` blocks, and of every page in ``docs/``, from the repository root, as written.

``make readme-check`` runs this (and CI does, after ``make test``). A line may
end with a comment that says what to expect:

- ``# exit N ...``: the command must exit with N (e.g. ``watch --camera 0``
  on a machine without a camera exits 3, as documented);
- ``# help-only ...``: too long to run here (training): the command is run
  with ``--help`` appended, which checks that its options exist.

Lines that read ``../shared/data`` (this project's data folder, which a
plain clone does not have) are skipped, with a note, where it is missing.
``make install`` and ``make test`` lines are skipped: CI has just run them.
Everything the commands write goes to ``out/`` (git-ignored).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands(readme: Path) -> list[tuple[int, str]]:
    out, inside = [], False
    for n, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            inside = line.strip() == "```sh" and not inside
            continue
        if inside and line.strip() and not line.strip().startswith("#"):
            out.append((n, line.strip()))
    return out


def plan(line: str) -> tuple[str, int, bool]:
    """(command, expected exit code, help-only)."""
    command, _, note = line.partition("  #")
    note = note.strip()
    m = re.match(r"exit (\d+)", note)
    expected = int(m.group(1)) if m else 0
    return command.strip(), expected, note.startswith("help-only")


def main() -> int:
    (ROOT / "out").mkdir(exist_ok=True)
    failures = 0
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page, n, line in ((p, n, line) for p in pages for n, line in commands(p)):
        name = page.relative_to(ROOT).as_posix()
        command, expected, help_only = plan(line)
        if command in ("make install", "make test"):
            continue
        if "../shared/data" in command and not (ROOT.parent / "shared" / "data").is_dir():
            print(f"{name}:{n}: skipped (no ../shared/data here): {command}", flush=True)
            continue
        if help_only:
            command += " --help"
        started = time.monotonic()
        r = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=3600,
                           stdin=subprocess.DEVNULL)
        took = time.monotonic() - started
        stem = "line" if name == "README.md" else page.stem  # what each command printed: the figures
        log = ROOT / "out" / "readme" / f"{stem}-{n:03d}.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {command}\n{r.stdout}\n--- stderr ---\n{r.stderr}", encoding="utf-8")
        ok = r.returncode == expected
        failures += not ok
        print(f"{name}:{n}: {'ok' if ok else 'FAILED'} (exit {r.returncode}, expected {expected}, {took:.0f} s): "
              f"{command}", flush=True)
        if not ok:
            print((r.stdout + r.stderr)[-3000:], flush=True)
    print(f"readme-check: {failures} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
