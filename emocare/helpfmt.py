"""``--help`` as plain text that fits the terminal: words never split, no Python type names, defaults written one way.

Typer's own panels squeeze the description column to a word or two when an
option's name or its values are long (``--quiet/--no-quiet``, ``--teacher-
temperature``), cut names with an ellipsis, and show the argument types
Python knows them by (``{paths}...``, ``<list[Path]>``, ``<str>``). Here each
option is a term and its description: side by side while the description
column keeps at least ``MIN_TEXT`` columns, else the description on the
lines below, indented. ``render(command, ctx)`` is all the CLI calls.
"""

from __future__ import annotations

import enum
import inspect
import re
import textwrap
from pathlib import Path

MIN_TEXT = 40  # the narrowest description column used beside the terms
MAX_TERM = 28  # a longer term gets its description on the lines below it

_TYPE_METAVARS = {"integer": "N", "int": "N", "float": "NUMBER", "text": "TEXT", "str": "TEXT", "path": "PATH",
                  "boolean": "", "bool": ""}


def width() -> int:
    """The terminal's width as rich sees it (``COLUMNS`` first, 80 when not a terminal)."""
    from rich.console import Console

    return max(40, Console(stderr=False).width)


def wrap(text: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken only at spaces (a word longer than a line stays whole)."""
    wrapper = textwrap.TextWrapper(width=max(10, width), initial_indent=indent if first is None else first,
                                   subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return wrapper.wrap(text) or [(indent if first is None else first).rstrip()]


def paragraphs(text: str | None) -> list[str]:
    """The paragraphs of a help text (blank-line separated), each on one line; a ``\\b`` paragraph keeps its lines."""
    if not text:
        return []
    out = []
    for para in inspect.cleandoc(text).partition("\f")[0].split("\n\n"):
        out.append(para if para.startswith("\b") else " ".join(para.split()))
    return [p for p in out if p.strip()]


def one_default_style(text: str) -> str:
    """Defaults as ``(default X)``, whichever way a help text wrote them."""
    return re.sub(r"\bdefault: ", "default ", text)


def metavar(param) -> str:
    """What stands for an option's value or an argument, in capitals or as its choices; never a Python type name."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    many = "..." if param.param_type_name == "argument" and param.nargs != 1 else ""
    if param.metavar is not None:
        return param.metavar if param.metavar.endswith("...") else f"{param.metavar}{many}"
    kind = getattr(param, "type", None)
    choices = getattr(kind, "choices", None)
    if choices:
        return "|".join(str(c.value if isinstance(c, enum.Enum) else c) for c in choices)
    if param.param_type_name == "argument":
        return f"{(param.name or 'value').upper()}{many}"
    name = str(getattr(kind, "name", None) or "text").lower()
    return _TYPE_METAVARS.get(name, name.upper())


def _default_text(param) -> str | None:
    """The default an option's help should name, or None (none, a flag that is off, or one its help names)."""
    default = param.default
    if callable(default) or default is None or default == () or default == []:
        return None
    if getattr(param, "show_default", True) is False:
        return None
    if isinstance(default, bool):
        if not param.secondary_opts:
            return None  # a plain flag: off unless given
        return "on" if default else "off"
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(default, Path):
        default = str(default)
    if isinstance(default, float):
        default = f"{default:g}"
    return str(default)


def option_help(param) -> str:
    """An option's or argument's description: its help, the default named once as ``(default X)``, required or not."""
    text = one_default_style(" ".join((getattr(param, "help", None) or "").split()))
    default = _default_text(param) if param.param_type_name == "option" else None
    if default is not None and "default" not in text.lower():
        text = f"{text} (default {default})".strip()
    if param.param_type_name == "option" and param.required:
        text = f"{text} (required)".strip()
    return text


def term(param) -> str:
    """How an option is written: ``--jobs, -j N``, ``--quiet / --no-quiet``; an argument: its metavar."""
    if param.param_type_name == "argument":
        return metavar(param)
    longs = [o for o in param.opts if o.startswith("--")]
    shorts = [o for o in param.opts if not o.startswith("--")]
    names = ", ".join(longs + shorts)
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    value = metavar(param)
    return f"{names} {value}" if value else names


def definitions(rows: list[tuple[str, str]], width: int) -> list[str]:
    """Terms and their descriptions: side by side when the description keeps ``MIN_TEXT`` columns, else below."""
    if not rows:
        return []
    col = min(MAX_TERM, max(len(t) for t, _ in rows)) + 4
    side = width - col >= MIN_TEXT
    out = []
    for t, text in rows:
        if side and len(t) + 4 <= col:
            out += wrap(text, width, indent=" " * col, first=f"  {t}".ljust(col))
        else:
            out.append(f"  {t}")
            if text:
                out += wrap(text, width, indent=" " * (col if side else 6))
    return out


def usage(command, ctx) -> str:
    pieces = ["[OPTIONS]"] if any(p.param_type_name == "option" and not p.hidden for p in command.get_params(ctx)) else []
    for p in command.get_params(ctx):
        if p.param_type_name == "argument":
            pieces.append(metavar(p) if p.required else f"[{metavar(p)}]")
    if hasattr(command, "list_commands"):
        pieces.append("COMMAND [ARGS]...")
    return f"{ctx.command_path} {' '.join(pieces)}".rstrip()


def render(command, ctx, width_: int | None = None) -> str:
    """The whole ``--help`` of ``command`` (a command or a group) as text ``width_`` columns wide at most."""
    w = (width_ or width()) - 1  # the last column stays free: some terminals wrap a line that fills it
    lines = wrap(usage(command, ctx), w, indent=" " * 7, first="Usage: ")
    for para in paragraphs(command.help):
        lines.append("")
        lines += para.strip("\b\n").splitlines() if para.startswith("\b") else wrap(para, w, indent="  ")
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [(term(p), option_help(p)) for p in params if p.param_type_name == "argument"]
    options = [(term(p), option_help(p)) for p in params if p.param_type_name == "option"]
    if arguments:
        lines += ["", "Arguments:", *definitions(arguments, w)]
    if options:
        lines += ["", "Options:", *definitions(options, w)]
    if hasattr(command, "list_commands"):
        rows = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            first = paragraphs(sub.help)
            rows.append((name, first[0] if first else ""))
        if rows:
            lines += ["", "Commands:", *definitions(rows, w)]
    for para in paragraphs(command.epilog):
        lines.append("")
        lines += wrap(para, w, indent="  ")
    return "\n".join(line.rstrip() for line in lines) + "\n"
