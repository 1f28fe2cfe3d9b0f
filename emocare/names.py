"""Names: what a source's name tells (a photo, a video, a stream URL) and how it is written: valid UTF-8 with a
stream's password hidden (``shown``), a name OpenCV can open (``opencv_path``), why a path is not a file to read
(``not_a_file``)."""

from __future__ import annotations

import os
from pathlib import Path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".jfif")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


def is_still_image(path: str | os.PathLike) -> bool:
    """A photo by its name (a GIF may move, so it is not one): what ``analyze`` reads and ``watch`` cannot follow."""
    suffix = Path(path).suffix.lower()
    return suffix in IMAGE_EXTENSIONS and suffix != ".gif"


def is_stream_url(source: str) -> bool:
    return "://" in source


def redact(source: str) -> str:
    """``source`` as it may be shown or written anywhere: a stream URL's password (``rtsp://user:secret@host``)
    becomes ``***``; anything else is unchanged."""
    import re

    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/]*@", r"\1:***@", source)


def shown(text: str | os.PathLike) -> str:
    """A name as valid UTF-8 text for the terminal, JSON and the journal: bytes a file name holds that are not
    UTF-8 (``caf\xe9.jpg``, read by Python as surrogate escapes) are written ``\xe9``, control characters
    (ESC, NUL, ...) ``\x1b``; a stream URL's password is hidden (``redact``)."""
    s = os.fspath(text)
    s = s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    s = "".join(ch if ch.isprintable() or ch in "\t" else ch.encode("unicode_escape").decode("ascii") for ch in s)
    return redact(s)


_links: dict[str, str] = {}


def opencv_path(path: str | os.PathLike) -> str:
    """A name OpenCV can open ``path`` by: the name itself when it is valid UTF-8, else a link with a plain name
    to it in a private folder removed at exit. OpenCV crashes (SIGSEGV) on a file name that is not UTF-8;
    a link to a file not yet written lets FFmpeg create it under its real name."""
    name = os.fspath(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    if name not in _links:
        import atexit
        import shutil
        import tempfile

        if not _links:
            folder = tempfile.mkdtemp(prefix="emocare-names-")
            _links[""] = folder
            atexit.register(shutil.rmtree, folder, True)
        suffix = Path(name).suffix
        suffix = suffix if suffix.isascii() and suffix.isprintable() else ""
        link = os.path.join(_links[""], f"{len(_links)}{suffix}")
        os.symlink(os.path.abspath(name), link)
        _links[name] = link
    return _links[name]


def not_a_file(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be read as a ``what`` file, or None: missing, a symbolic link loop, a folder, a named
    pipe, a device or a socket (each named as what it is)."""
    import errno
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "a broken symbolic link" if os.path.islink(path) else "no such file"
        return exc.strerror or str(exc)
    if stat.S_ISDIR(st.st_mode):
        return "is a folder"
    if stat.S_ISFIFO(st.st_mode):
        return f"a named pipe (FIFO), not {what} file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return f"a device, not {what} file"
    if stat.S_ISSOCK(st.st_mode):
        return f"a socket, not {what} file"
    return None


def make_folder(folder: Path, mode: int = 0o777) -> None:
    """``folder`` and its parents, made where missing. A file in the way is ``NotADirectoryError`` ("Not a
    directory"), which is what it is: ``mkdir(exist_ok=True)`` says "File exists" for it."""
    import errno

    try:
        Path(folder).mkdir(parents=True, exist_ok=True, mode=mode)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None
