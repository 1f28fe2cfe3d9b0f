"""Tables that fit the terminal without breaking a word: a wide layout, and a narrower one below ``NARROW`` columns.

Rich shrinks a column below its longest word when a table is wider than the
terminal, and then cuts that word in two ("comforte / d"). A table whose
columns are engines or moods cannot help it at 80 columns; ``ByWidth`` shows
another arrangement of the same figures there (a column per engine becomes
a row per engine, and so on).
"""

from __future__ import annotations

NARROW = 100  # below this many columns, the narrow layout


class ByWidth:
    """A renderable that is ``wide`` on a terminal at least ``at`` columns wide, else ``narrow``."""

    def __init__(self, wide, narrow, at: int = NARROW):
        self.wide = wide
        self.narrow = narrow
        self.at = at

    def __rich_console__(self, console, options):
        yield self.wide if options.max_width >= self.at else self.narrow


def _end(line: str) -> str:
    """A line as it ends on screen: no trailing space, nor a trailing ``|`` separator (nothing follows it)."""
    line = line.rstrip()
    return line[:-1].rstrip() if line.endswith(" |") else line


class Phrases:
    """Text that a narrow column or terminal breaks only between its phrases, never inside one.

    Rich breaks text at spaces, so ``surprise 0.00`` can end a line at ``surprise``, and it cuts a word longer than
    its column anywhere (``pyfeat_BWPictureHuman_grayscal / e.jpg``). Each phrase here keeps its trailing
    separator (``"happy 0.59, "``, ``"photos/"``, ``"17.4 s | "``), dropped where it ends a line (a ``|`` too). A tuple of phrases is a group kept
    on one line where it fits one, else broken between its phrases: a path given as ``path_phrases`` then breaks
    only after a ``/``. A phrase wider than the space it has is folded (nothing is ever cut off).
    """

    def __init__(self, phrases, style: str = ""):
        self.phrases = [p for p in phrases if p]
        self.style = style

    def __rich_measure__(self, console, options):
        from rich.cells import cell_len
        from rich.measure import Measurement

        longest = max((cell_len(q.rstrip()) for p in self.phrases for q in _parts(p)), default=0)
        whole = cell_len("".join("".join(_parts(p)) for p in self.phrases).rstrip())
        return Measurement(min(longest, options.max_width), min(whole, options.max_width))

    def lines(self, width: int) -> list[str]:
        from rich.cells import cell_len

        lines: list[str] = []
        line = ""
        for p in self.phrases:
            whole = "".join(_parts(p))
            fits = cell_len(_end(whole)) <= width
            if not fits and line and len(_parts(p)) > 1:  # a group too long for a line starts one of its own
                lines.append(_end(line))
                line = ""
            for q in [whole] if fits else _parts(p):
                if line and cell_len(_end(line + q)) > width:
                    lines.append(_end(line))
                    line = ""
                line += q
        if line.rstrip() or not lines:
            lines.append(_end(line))
        return lines

    def __rich_console__(self, console, options):
        from rich.text import Text

        yield Text("\n".join(self.lines(options.max_width)), style=self.style, overflow="fold")


def _parts(phrase) -> tuple:
    return (phrase,) if isinstance(phrase, str) else tuple(phrase)


def path_phrases(path: str) -> list[tuple[str, ...]]:
    """``/work/photos/a.jpg`` as one group, ``[("/", "work/", "photos/", "a.jpg")]``, for ``Phrases``: whole on a
    line where it fits one (to be read and copied), else broken only after a ``/``."""
    import re

    return [tuple(re.findall(r"[^/]*/|[^/]+$", path))]


def listed(phrases, sep: str = ", ") -> list[str]:
    """``["happy 0.59", "sad 0.41"]`` as phrases of a list: ``["happy 0.59, ", "sad 0.41"]``."""
    phrases = list(phrases)
    return [p + sep for p in phrases[:-1]] + phrases[-1:]


def common_folder(paths) -> tuple[str, list[str]]:
    """The folder every one of ``paths`` (as given) lies in, and their names below it (``photos/``, ``["a/x.jpg",
    "y.jpg"]``); ("", ``paths``) when there is none but ``/``, or relative and absolute paths are mixed. Named once,
    the folder leaves the rows room at 80 columns, and a row still tells apart two files of one name."""
    import os

    paths = [os.fspath(p) for p in paths]
    if not paths or any(os.path.dirname(p) in ("", ".") for p in paths):
        return "", paths
    try:
        folder = os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:  # absolute and relative paths mixed
        return "", paths
    if folder in ("", ".", os.sep):
        return "", paths
    names = [os.path.relpath(p, folder) for p in paths]
    if len(set(names)) < len(names):  # a/./x.mp4 and a/x.mp4: as given, the two rows stay two
        return "", paths
    return folder.rstrip(os.sep) + os.sep, names


class Fitted:
    """A table that, wider than the terminal, narrows the columns that can spare room without cutting a word.

    Rich narrows the widest columns first, towards equal widths, below their longest word if need be. Here each
    column keeps at least its longest unbreakable piece (a ``Phrases`` phrase, a word); the room left goes first
    to the columns it lets show whole, the narrowest need first, then to the others in proportion to what they
    would still take.
    """

    def __init__(self, table):
        self.table = table

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        return Measurement.get(console, options, self.table)

    def __rich_console__(self, console, options):
        table = self.table
        kept = [c.width for c in table.columns]  # put back after each render: the next may be at another width
        try:
            widths = self._widths(console, options)
        except AttributeError:  # Rich's internals this reads (_measure_column, _extra_width) moved: Rich's own fit
            widths = None
        if widths is not None:
            for column, width in zip(table.columns, widths):
                column.width = max(1, width - table._get_padding_width(column._index))
        try:
            yield from console.render(table, options)
        finally:
            for column, width in zip(table.columns, kept):
                column.width = width

    def _widths(self, console, options) -> list[int] | None:
        """Each column's width with its padding, or None when the table fits as it is (or cannot fit at all)."""
        table = self.table
        ranges = [table._measure_column(console, options, c) for c in table.columns]
        room = options.max_width - table._extra_width
        lows = [r.minimum for r in ranges]
        needs = [r.maximum - r.minimum for r in ranges]
        if sum(lows) + sum(needs) > room >= sum(lows):
            widths, spare = list(lows), room - sum(lows)
            order = sorted(range(len(needs)), key=needs.__getitem__)
            rest = []
            for i in order:
                if needs[i] <= spare and not rest:
                    widths[i] += needs[i]
                    spare -= needs[i]
                else:
                    rest.append(i)
            total = sum(needs[i] for i in rest)
            if total:  # the rest in proportion to what each would still take; what rounding leaves, one each
                shares = {i: spare * needs[i] // total for i in rest}
                for i in rest:
                    widths[i] += shares[i]
                for i in rest[:spare - sum(shares.values())]:
                    widths[i] += 1
            return widths
        return None
