"""Load and validate photos: the one door every photo comes in by (app, CLI and batch).

`load_photo` reads the header before decoding anything, refuses files and pictures that are too
big (a "decompression bomb" declares huge dimensions in a tiny file: the pixel count is checked
before any pixel memory is allocated), detects the real format from the content and not from the
name, decodes only the first frame of an animation, applies the EXIF orientation, converts an
embedded ICC colour profile to sRGB, composites transparency on white and returns an RGB uint8
`Photo`. Everything that can go wrong with the input is raised as a `PreviewError` subclass whose
message says which file, what is wrong and what to do.

Privacy: bytes are decoded in memory (no temporary files) and nothing is logged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageCms, UnidentifiedImageError

from .errors import TooLarge, TooSmall, UnreadableFile, UnsupportedFormat

try:  # HEIC/HEIF from phones (pillow-heif is a dependency; without it HEIC is "unsupported")
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - install problem
    HEIF_SUPPORTED = False

MAX_PIXELS = 50_000_000
"""Largest picture accepted, in pixels (width x height), checked before decoding."""
MAX_BYTES = 60 * 1024 * 1024
"""Largest file accepted, in bytes."""
MIN_SIDE_PX = 64
"""Shortest side accepted, in pixels."""
MAX_JPEG_SCANS = 200
"""Most passes (SOS markers) a JPEG may have; cameras write 1 (baseline) to about 10 (progressive)."""
MAX_ASPECT = 10.0
"""Longest side / shortest side accepted: a narrower strip cannot hold a head."""

Image.init()  # load Pillow's plugins so that every accepted format is registered
FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF") if f in Image.OPEN)
"""Pillow format names accepted; Pillow is asked to try only these decoders."""
EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".mpo", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif",
              ".avif")
"""File name endings of photos in a folder (only for picking files; the format comes from the content)."""
ACCEPTED = "JPEG, PNG, WebP, TIFF or HEIC"

_ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "TIFF", "HEIF", "AVIF")  # MPO's extra frames are previews


@dataclass(frozen=True, eq=False)
class Photo:
    """An RGB uint8 photo (H, W, 3) after EXIF orientation and colour management.

    Attributes
    ----------
    rgb : (H, W, 3) uint8, sRGB.
    name : where it came from (a path or an upload's name), for messages.
    notes : plain sentences about what the loader did that a user may want to know
        (only the first frame of an animation used, a colour profile converted or unreadable).
    format : the format found in the content ("JPEG", "PNG", "HEIF", ...).
    """

    rgb: np.ndarray
    name: str = "photo"
    notes: tuple[str, ...] = ()
    format: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return self.rgb.shape[:2]


# What a file is when it is not an image we read: (magic test, plain description).
_NOT_PHOTOS = (
    (lambda d: d.startswith(b"%PDF"), "a PDF document"),
    (lambda d: d.startswith((b"PK\x03\x04", b"PK\x05\x06")), "a ZIP archive (or an Office document)"),
    (lambda d: d.startswith(b"\x1f\x8b"), "a compressed (gzip) archive"),
    (lambda d: d.startswith((b"Rar!", b"7z\xbc\xaf")), "a compressed archive"),
    (lambda d: d.startswith(b"8BPS"), "a Photoshop document"),
    (lambda d: d[4:8] == b"ftyp" and d[8:12] in (b"isom", b"mp41", b"mp42", b"qt  ", b"M4V ", b"3gp4", b"3gp5"),
     "a video"),
    (lambda d: b"<svg" in d[:2048].lower(), "an SVG drawing"),
    (lambda d: any(t in d[:2048].lower() for t in (b"<!doctype html", b"<html", b"<head", b"<body")),
     "a web page (HTML)"),
    (lambda d: d[:5] in (b"{\\rtf",), "a text document"),
)


def _describe_non_image(data: bytes) -> str | None:
    for test, what in _NOT_PHOTOS:
        if test(data):
            return what
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return "a text file"
    return None


_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"II*\0", "TIFF"),
    (b"MM\0*", "TIFF"),
    (b"BM", "BMP"),
)


def _image_kind(data: bytes) -> str | None:
    """The image format the first bytes announce, if any (to tell damaged from foreign)."""
    for magic, kind in _IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"):
        return "HEIC"
    return None


def _unsupported(data: bytes, name: str, exc: Exception | None = None) -> UnsupportedFormat | UnreadableFile:
    kind = _image_kind(data)
    if kind:
        err = UnreadableFile(
            f"The file starts like a {kind} image but it is damaged or incomplete.",
            "Export or copy the photo again and retry.",
            source=name,
        )
        err.__cause__ = exc
        return err
    what = _describe_non_image(data)
    message = f"This file is {what}, not an image." if what else "This file is not an image this tool can read."
    err = UnsupportedFormat(message, f"Choose a photo file ({ACCEPTED}).", source=name)
    err.__cause__ = exc
    return err


def _open(data: bytes, name: str, *, max_pixels: int, max_bytes: int, min_side_px: int) -> Image.Image:
    """Identify the format from the content and check the declared size; no pixels decoded yet."""
    if not data:
        raise UnreadableFile("The file is empty.", f"Choose a photo file ({ACCEPTED}).", source=name)
    if len(data) > max_bytes:
        raise TooLarge(
            f"The file is {len(data) / 2**20:.1f} MB, more than the {max_bytes / 2**20:.0f} MB allowed.",
            "Use a smaller photo or export it at a lower quality.",
            source=name,
        )
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    except UnidentifiedImageError as exc:
        raise _unsupported(data, name, exc) from exc
    except Image.DecompressionBombError as exc:  # Pillow's own (higher) limit, before ours
        raise TooLarge(
            "The photo declares far more pixels than any camera takes.",
            "Use an ordinary photo of 12 MP or less.",
            source=name,
        ) from exc
    except MemoryError as exc:
        raise TooLarge("The photo is too big to open.", "Use a photo of 12 MP or less.", source=name) from exc
    except Exception as exc:  # a plugin choking on a damaged header (OSError, SyntaxError, ValueError...)
        raise UnreadableFile(
            "The file looks like an image but its header is damaged.",
            "Export or copy the photo again and retry.",
            source=name,
        ) from exc
    scans = data.count(b"\xff\xda") if im.format in ("JPEG", "MPO") else 0
    if scans > MAX_JPEG_SCANS:
        # each scan is a full pass over the picture: thousands make a tiny file decode for minutes
        raise UnreadableFile(
            f"The JPEG is built in an unusual way ({scans} passes) that would take too long to open.",
            "Export the photo again as an ordinary JPEG.",
            source=name,
        )
    if im.format == "PNG":  # Pillow skips the pixel data's checksums when decoding: check them first
        try:
            Image.open(io.BytesIO(data), formats=["PNG"]).verify()
        except Exception as exc:
            raise UnreadableFile(
                "The image data is damaged (its checksums do not match).",
                "Export or copy the photo again and retry.",
                source=name,
            ) from exc
    w, h = im.size
    if w * h > max_pixels:
        raise TooLarge(
            f"The photo is {w}x{h} pixels ({w * h / 1e6:.3g} MP), more than the {max_pixels / 1e6:.3g} MP allowed.",
            f"Resize it to {min(12.0, max_pixels / 1e6):.3g} MP or less.",
            source=name,
        )
    if min(w, h) < min_side_px:
        raise TooSmall(
            f"The photo is only {w}x{h} pixels.",
            f"Use a photo at least {min_side_px} pixels on each side; a head-and-shoulders photo "
            "of 1000 px or more works best.",
            source=name,
        )
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise TooSmall(
            f"The photo is a narrow strip ({w}x{h} pixels) that cannot hold a head.",
            "Use a photo of the head and shoulders, not a panorama or a cropped strip.",
            source=name,
        )
    return im


_ORIENTATION = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1-8), 1 when absent or unreadable."""
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not cost the photo
        return 1
    return value if value in _ORIENTATION else 1


def _to_8bit(im: Image.Image) -> Image.Image:
    """Reduce 16-bit and 32-bit grey (I;16*, I, F) to 8-bit L; other modes unchanged."""
    if im.mode.startswith("I;16"):
        arr = np.asarray(im).astype(np.float32) / 257.0
    elif im.mode in ("I", "F"):
        arr = np.asarray(im).astype(np.float64)
        top = float(arr.max()) if arr.size else 0.0
        scale = 1.0 / 257.0 if top > 255 else (255.0 if 0 < top <= 1.0 and im.mode == "F" else 1.0)
        arr = arr * scale
    else:
        return im
    out = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    out.info = {k: v for k, v in im.info.items() if k == "icc_profile"}
    return out


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_LAB = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))


def _to_srgb(im: Image.Image, notes: list[str]) -> Image.Image:
    """Convert with the embedded ICC profile to sRGB (RGB or RGBA out); unusable profile: noted."""
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = (ImageCms.getProfileDescription(profile) or "").strip()
        space = profile.profile.xcolor_space.strip()
        if space == "RGB" and desc.lower().startswith("srgb"):
            return im  # already sRGB
        if im.mode in ("RGBA", "LA"):
            src = "RGBA" if space == "RGB" else "LA"
            im = im.convert(src) if im.mode != src else im
            out = "RGBA"
            if src == "LA":  # LittleCMS has no LA: convert grey and alpha apart
                grey, alpha = im.split()
                rgb = ImageCms.profileToProfile(grey, profile, _SRGB, outputMode="RGB")
                rgb.putalpha(alpha)
                notes.append(f"Colours converted to sRGB from the embedded profile ({desc or 'unnamed'}).")
                return rgb
        else:
            out = "RGB"
        converted = ImageCms.profileToProfile(im, profile, _SRGB, outputMode=out)
        notes.append(f"Colours converted to sRGB from the embedded profile ({desc or 'unnamed'}).")
        return converted
    except Exception:  # noqa: BLE001 - an unusable profile costs the colour accuracy, not the photo
        notes.append("The photo's colour profile could not be read; colours are shown as stored.")
        return im


def _keep_info(new: Image.Image, old: Image.Image) -> Image.Image:
    new.info = dict(old.info)
    return new


def _decode(im: Image.Image, name: str, notes: list[str]) -> np.ndarray:
    """Decode the first frame, colour-manage, composite on white, orient; RGB uint8 out."""
    fmt = im.format or ""
    try:
        animated = fmt in _ANIMATED_FORMATS and bool(getattr(im, "is_animated", False))
    except Exception:  # noqa: BLE001 - a damaged second frame does not matter: only the first is used
        animated = False
    if animated:
        notes.append("The file holds several images (an animation or several pages); only the first is used.")
    orientation = _orientation(im)
    try:
        im.load()
        if fmt == "JPEG" and im.mode == "CMYK" and "adobe" not in im.info:
            # Pillow reads every CMYK JPEG with Adobe's inverted convention; without the Adobe
            # marker the values are plain CMYK and must be inverted back.
            im = _keep_info(ImageChops.invert(im), im)
        im = _to_8bit(im)
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode == "1":
            im = im.convert("L")
        elif im.mode in ("PA", "La") or im.mode == "RGBa" or im.mode == "RGB" and "transparency" in im.info:
            im = im.convert("RGBA")
        elif im.mode == "L" and "transparency" in im.info:
            im = im.convert("LA")
        if im.mode == "LAB":  # CIELAB TIFFs (from scanners, photo editors): Pillow's own convert is wrong
            im = ImageCms.profileToProfile(im, _LAB, _SRGB, outputMode="RGB")
        else:
            im = _to_srgb(im, notes)
        if im.mode in ("RGBA", "LA"):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        try:
            if im.mode != "RGB":  # convert("RGB") of an RGB image is a full copy
                im = im.convert("RGB")
        except ValueError as exc:
            raise UnsupportedFormat(
                f"The photo uses a colour mode ({im.mode}) this tool cannot read.",
                "Save it again as an ordinary RGB JPEG or PNG.",
                source=name,
            ) from exc
        for method in _ORIENTATION.get(orientation, ()):
            im = im.transpose(method)
        rgb = np.asarray(im, dtype=np.uint8)
    except UnsupportedFormat:
        raise
    except MemoryError as exc:
        raise TooLarge("The photo is too big to open.", "Use a photo of 12 MP or less.", source=name) from exc
    except Exception as exc:  # truncated or corrupted pixel data: OSError, SyntaxError, ValueError, ...
        raise UnreadableFile(
            "The image data is damaged or incomplete.",
            "Export or copy the photo again and retry.",
            source=name,
        ) from exc
    if rgb.ndim != 3 or rgb.shape[2] != 3:  # pragma: no cover - defensive
        raise UnreadableFile("The image data could not be decoded.", "Try another photo.", source=name)
    return np.ascontiguousarray(rgb)


def _read_file(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        if not path.exists():
            raise UnreadableFile("There is no such file.", "Check the path and the file name.", source=name)
        if path.is_dir():
            raise UnreadableFile("This is a folder, not a photo.", "Give the path of a photo file.", source=name)
        if not path.is_file():
            raise UnreadableFile("This is not a regular file.", "Give the path of a photo file.", source=name)
        size = path.stat().st_size
        if size > max_bytes:
            raise TooLarge(
                f"The file is {size / 2**20:.1f} MB, more than the {max_bytes / 2**20:.0f} MB allowed.",
                "Use a smaller photo or export it at a lower quality.",
                source=name,
            )
        with path.open("rb") as f:
            return f.read(max_bytes + 1)  # a file growing meanwhile is still capped
    except OSError as exc:
        raise UnreadableFile(
            f"The file cannot be read ({exc.strerror or 'input/output error'}).",
            "Check that it exists and that you may read it.",
            source=name,
        ) from exc


def load_photo(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    min_side_px: int = MIN_SIDE_PX,
) -> Photo:
    """Load a photo from a path or bytes into an oriented sRGB `Photo`.

    Parameters
    ----------
    source : path or bytes
        A file path, or the bytes of an upload (decoded in memory, never written to disk).
    name : str, optional
        How to name the photo in messages; defaults to the path, or "uploaded photo".
    max_pixels : int
        Largest width x height accepted, checked from the header before decoding (default 50 MP).
    max_bytes : int
        Largest file accepted, in bytes (default 60 MiB).
    min_side_px : int
        Shortest side accepted, in pixels (default 64).

    Returns
    -------
    Photo
        RGB uint8 in sRGB, EXIF orientation applied, transparency composited on white; `notes`
        says when only the first frame of an animation was used or a colour profile converted.

    Raises
    ------
    UnreadableFile, UnsupportedFormat, TooLarge, TooSmall
        `PreviewError` subclasses whose message names the file, what is wrong and what to do.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "uploaded photo"
    else:
        path = Path(source)
        name = name or str(path)
        data = _read_file(path, name, max_bytes)
    im = _open(data, name, max_pixels=max_pixels, max_bytes=max_bytes, min_side_px=min_side_px)
    notes: list[str] = []
    try:
        rgb = _decode(im, name, notes)
        fmt = im.format or ""
    finally:
        im.close()
    return Photo(rgb=rgb, name=name, notes=tuple(notes), format=fmt)
