"""Images: still image files read as BGR pixels (EXIF orientation, grey, 16-bit, palette and transparent images,
refusing decompression bombs), and folders walked for them."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from emocare.errors import InputError
from emocare.names import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_still_image, not_a_file, shown

log = logging.getLogger(__name__)


def _grey_to_8bit(mode: str, a: np.ndarray) -> np.ndarray:
    """A 16-bit, 32-bit or float grey image in 8 bits (Pillow's own conversion clips everything above 255 to white).

    Whole numbers within 0-65535 are scaled by the smallest bit depth that holds them (8, 10, 12, 14 or 16 bits:
    machine-vision and scientific cameras store 10-14-bit values in 16-bit files); floats within 0-1 by 255;
    floats within 0-255 are kept; anything else is stretched from its minimum to its maximum.
    """
    a = a.astype(np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode != "F" and lo >= 0.0 and hi <= 65535.0:
        top = next(2.0 ** bits - 1 for bits in (8, 10, 12, 14, 16) if hi <= 2.0 ** bits - 1)
        a = a * (255.0 / top)
    elif mode == "F" and lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif not (mode == "F" and lo >= 0.0 and hi <= 255.0):
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


_STILL_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")  # JPEG PNG BMP TIFF


def is_photo(path: str | os.PathLike) -> bool:
    """A still image, by its name (``.jpg``) or, whatever its name says (``face.dat``), by its first bytes (JPEG,
    PNG, BMP, TIFF, WebP). A GIF may move, so it is not one. Read here, not by OpenCV, which crashes on a file name
    that is not UTF-8. Regular files only (a device or a pipe could block), and False for what cannot be read:
    opening it as a video then says so in its own words."""
    try:
        if is_still_image(path):  # by its name, unless it is empty (nothing to analyze either: said as a video's)
            return not os.path.isfile(path) or os.path.getsize(path) > 0
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as fh:
            head = fh.read(12)
    except (OSError, ValueError):
        return False
    return head.startswith(_STILL_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as BGR uint8, honouring EXIF orientation.

    Grey, 16-bit, palette and RGBA images are converted (transparency is laid
    over white). Images up to Pillow's limit (about 179 MP) are read without
    its warning; larger ones (decompression bombs) are refused. Raises
    ``InputError`` naming the file and the reason.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    name = shown(p)
    why = not_a_file(p, "an image")
    if why is not None:
        raise InputError(f"{name}: {why}", str(p))
    try:
        if p.stat().st_size == 0:
            raise InputError(f"{name}: empty file", str(p))
        with warnings.catch_warnings(record=True) as noted:  # Pillow's EXIF and size warnings: --verbose only
            warnings.simplefilter("always")
            with Image.open(p) as img:
                img = ImageOps.exif_transpose(img)
                if img.mode in ("P", "PA", "LA", "RGBA"):
                    rgba = img.convert("RGBA")
                    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    img = Image.alpha_composite(background, rgba)
                if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit grey: Pillow's convert clips at 255
                    rgb = np.repeat(_grey_to_8bit(img.mode, np.asarray(img))[:, :, None], 3, axis=2)
                else:
                    rgb = np.asarray(img.convert("RGB"))
        for w in noted:
            log.debug("%s: %s", name, w.message)
    except InputError:
        raise
    except Image.DecompressionBombError:
        limit = (Image.MAX_IMAGE_PIXELS or 0) * 2 / 1e6
        raise InputError(f"{name}: image too large to read safely (over {limit:.0f} megapixels)", str(p)) from None
    except PermissionError:
        raise InputError(f"{name}: permission denied", str(p)) from None
    except UnidentifiedImageError:
        if p.suffix.lower() in VIDEO_EXTENSIONS:
            raise InputError(f"{name}: a video, not a photo (follow it with 'emocare watch --source {name}')", str(p)) from None
        raise InputError(f"{name}: not an image (unrecognised format)", str(p)) from None
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise InputError(f"{name}: corrupt or truncated image ({_unbracketed(shown(str(exc)))})", str(p)) from None
    if rgb.size == 0:
        raise InputError(f"{name}: image has no pixels", str(p))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def expand_paths(paths: Sequence[str | os.PathLike], on_error: Callable[[InputError], None]) -> list[Path]:
    """Files as given, folders walked recursively for image files (sorted).

    A folder that cannot be read, or holds no image file, is reported
    through ``on_error`` and skipped, like any bad input; a file with any
    extension is kept (it will fail later with a precise reason if it is not
    an image, or missing).
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            if not os.access(p, os.R_OK | os.X_OK):
                on_error(InputError(f"{shown(p)}: folder cannot be read (permission denied)", path=str(p)))
                continue
            found: list[Path] = []
            unread: list[OSError] = []

            def _walk_error(exc: OSError) -> None:
                unread.append(exc)
                on_error(InputError(f"{shown(str(exc.filename))}: folder cannot be read ({exc.strerror})", path=str(exc.filename)))

            videos = 0
            for root, dirs, files in os.walk(p, onerror=_walk_error):
                dirs.sort()
                found.extend(Path(root) / f for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS))
                videos += sum(f.lower().endswith(VIDEO_EXTENSIONS) for f in files)
            if not found and not unread:  # a folder that was read and is empty is a bad input, named once
                hint = f" ({videos} video{'s' if videos > 1 else ''}: emocare watch --source VIDEO)" if videos else ""
                on_error(InputError(f"{shown(p)}: no image files in it{hint}", path=str(p)))
            out.extend(found)
        else:
            out.append(p)
    return out


def _unbracketed(why: str) -> str:
    """Pillow's words without their own brackets, to go inside ours: "image file is truncated (40 bytes not
    processed)" reads "image file is truncated: 40 bytes not processed"."""
    return why[:-1].replace(" (", ": ", 1) if why.endswith(")") and " (" in why else why
