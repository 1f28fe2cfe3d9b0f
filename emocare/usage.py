"""Click's usage errors in emocare's words (``emocare: error: ...``): the value given and what was expected, and an
unknown option's suggestion only when it is close; and the empty arguments Click would take as the current folder
(``empty_argument``, asked by ``cli.main`` before Click parses)."""

from __future__ import annotations

import sys

_KINDS = {"int": "a whole number", "float": "a number"}


def usage_message(exc, cx) -> str:
    """Click's usage message in emocare's words: the value given and what was expected, not Click's "'abc' is not a
    valid int"; an unknown option's suggestion only when it is close (Click offered --jobs for --bogus), and where
    the options are listed."""
    import difflib
    import re

    text = exc.format_message()
    if isinstance(exc, cx.NoSuchOption) and exc.option_name:
        close = [p for p in (exc.possibilities or [])
                 if difflib.SequenceMatcher(None, p.lstrip("-"), exc.option_name.lstrip("-")).ratio() >= 0.75]
        hint = f" (did you mean {' or '.join(sorted(close))}?)" if close else ""
        where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
        return f"No such option: {exc.option_name}{hint}{where}"
    kind = re.search(r"'[^']*' is not a valid (\w+)", text)
    if isinstance(exc, cx.BadParameter) and kind and kind.group(1) in _KINDS:
        given, wanted = _given_value(getattr(exc.param, "opts", None) or []), _KINDS[kind.group(1)]
        text = text.replace(kind.group(0), f"expected {wanted}" if given is None else f"{given!r} is not {wanted}")
    return text


def _given_value(opts: list[str]) -> str | None:
    """What the command line gave an option (``--jobs abc`` or ``--jobs=abc``; the last time, as Click takes it), or
    None."""
    args = sys.argv[1:]
    for i, arg in reversed(list(enumerate(args))):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                return args[i + 1]
            if opt.startswith("--") and arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


def flag_options(command) -> set[str]:
    """Every option of ``command`` (a Click group) and its subcommands that takes no value (--json, --fast, -v)."""
    flags: set[str] = set()
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            flags.update(param.opts)
            flags.update(getattr(param, "secondary_opts", []))
    for sub in getattr(command, "commands", {}).values():
        flags |= flag_options(sub)
    return flags | {"--help"}


ALLOW_EMPTY = {"--lang"}  # --lang "": the system locale's language, as lang = "" in the config file


def empty_argument(args: list[str], flags: set[str] = frozenset()) -> str | None:
    """Why an empty argument ("") cannot be taken, or None. Click turns an empty path into the current folder, so
    'analyze ""' analysed everything under it and '--annotate ""' wrote there. ``flags``: the options that take no
    value (an empty word after one is an argument of its own). 'say ""' says so in its own words."""
    words = [a for a in args if a and not a.startswith("-")]
    command = " ".join(words[:2]) if words[:1] in (["models"], ["voices"]) else "".join(words[:1])
    if command == "say":
        return None
    where = f"{command}: " if command else ""
    ended = False  # after "--" every word is an argument as written (a file named "--x=" too), but never ""
    for i, arg in enumerate(args):
        if arg == "--" and not ended:
            ended = True
            continue
        if ended:
            if arg == "":
                return f"{where}an empty argument (\"\"): name a file or folder"
            continue
        option = arg[:-1] if arg.startswith("--") and arg.endswith("=") else None
        before = args[i - 1] if i > 0 else ""
        if arg == "" and before.startswith("-") and before != "--" and "=" not in before and before not in flags:
            option = before
        if option in ALLOW_EMPTY:
            continue
        if option is not None:
            return f"{where}{option}: an empty value"
        if arg == "":
            return f"{where}an empty argument (\"\"): name a file or folder"
    return None


def source_conflict(camera: int | None, source: str | None, size: str | None, list_cameras: bool = False) -> str | None:
    """What is wrong with the source options given together (one line for ``emocare: error:``), or None.

    ``--size`` is a camera's resolution (``sources.open_live`` passes it to
    the camera only): with ``--source`` it would be dropped without a word.
    """
    if list_cameras and (camera is not None or source is not None or size is not None):
        return "--list-cameras lists the cameras that open, then exits: it takes no --camera, --source or --size"
    if camera is not None and source is not None:
        return "--camera and --source cannot be used together"
    if size is not None and source is not None:
        return "--size sets a camera's resolution: a --source video or stream keeps its own"
    return None
