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


def empty_argument(args: list[str]) -> str | None:
    """Why an empty argument ("") cannot be taken, or None. Click turns an empty path into the current folder, so
    'analyze ""' analysed everything under it and '--annotate ""' wrote there; no option takes an empty value
    ('say ""' says so in its own words)."""
    command = next((a for a in args if a and not a.startswith("-")), "")
    if command == "say":
        return None
    for i, arg in enumerate(args):
        option = arg[:-1] if arg.startswith("--") and arg.endswith("=") else None
        if arg == "" and i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1]:
            option = args[i - 1]
        if arg == "" or option is not None:
            where = f"{command}: " if command else ""
            return f"{where}{option}: an empty value" if option else f"{where}an empty argument (\"\"): name a file or folder"
    return None
