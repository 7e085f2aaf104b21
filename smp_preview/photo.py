"""Load and validate photos: real format from the content, size limits, EXIF orientation."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import TooLarge, TooSmall, UnreadableFile, UnsupportedFormat

MAX_PIXELS = 50_000_000
MAX_BYTES = 60 * 1024 * 1024
MIN_SIDE_PX = 64
FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "MPO", "BMP")
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif")


@dataclass(frozen=True, eq=False)
class Photo:
    """An RGB uint8 photo (H, W, 3) after EXIF orientation, with where it came from."""

    rgb: np.ndarray
    name: str = "photo"

    @property
    def shape(self) -> tuple[int, int]:
        return self.rgb.shape[:2]


def _open(data: bytes, name: str) -> Image.Image:
    if not data:
        raise UnreadableFile("The file is empty.", "Choose a photo file (JPEG, PNG, WebP).", source=name)
    if len(data) > MAX_BYTES:
        raise TooLarge(
            f"The file is {len(data) / 2**20:.0f} MB, more than the {MAX_BYTES / 2**20:.0f} MB allowed.",
            "Use a smaller photo or export it at a lower quality.",
            source=name,
        )
    Image.MAX_IMAGE_PIXELS = None  # checked below, before decoding
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedFormat(
            "This file is not an image this tool can read.",
            "Use a JPEG, PNG, WebP or TIFF photo.",
            source=name,
        ) from exc
    except Exception as exc:
        raise UnreadableFile(f"The file cannot be read ({exc}).", "Try another photo.", source=name) from exc
    if im.format not in FORMATS:
        raise UnsupportedFormat(
            f"{im.format} images are not supported.", "Use a JPEG, PNG, WebP or TIFF photo.", source=name
        )
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise TooLarge(
            f"The photo is {w}x{h} pixels ({w * h / 1e6:.0f} MP), more than the {MAX_PIXELS / 1e6:.0f} MP allowed.",
            "Resize it to 12 MP or less.",
            source=name,
        )
    if min(w, h) < MIN_SIDE_PX:
        raise TooSmall(
            f"The photo is only {w}x{h} pixels.",
            f"Use a photo at least {MIN_SIDE_PX} pixels on each side; a head-and-shoulders photo of 1000 px or more works best.",
            source=name,
        )
    return im


def _to_rgb(im: Image.Image, name: str) -> np.ndarray:
    try:
        im.seek(0)
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        if im.mode == "I;16" or im.mode.startswith("I"):
            arr = np.asarray(im, dtype=np.float64)
            arr = np.clip(arr / (257.0 if arr.max() > 255 else 1.0), 0, 255).astype(np.uint8)
            return np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=2))
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except OSError as exc:
        raise UnreadableFile(
            f"The image data is damaged or incomplete ({exc}).",
            "Export or copy the photo again and retry.",
            source=name,
        ) from exc


def load_photo(source: str | Path | bytes, *, name: str | None = None) -> Photo:
    """Load a photo from a path or bytes into an oriented RGB `Photo`.

    Raises a `PreviewError` subclass (unreadable, unsupported, too large, too small) whose
    message names the file and says what to do.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "uploaded photo"
    else:
        path = Path(source)
        name = name or str(path)
        if not path.exists():
            raise UnreadableFile("No such file.", "Check the path.", source=name)
        if path.is_dir():
            raise UnreadableFile("This is a folder, not a photo.", "Give the path of a photo file.", source=name)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise TooLarge(
                    f"The file is {size / 2**20:.0f} MB, more than the {MAX_BYTES / 2**20:.0f} MB allowed.",
                    "Use a smaller photo.",
                    source=name,
                )
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(f"The file cannot be read ({exc.strerror}).", "Check its permissions.", source=name) from exc
    im = _open(data, name)
    return Photo(rgb=_to_rgb(im, name), name=name)
