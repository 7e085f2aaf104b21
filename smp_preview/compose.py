"""Before/after views and the visible "simulation" label every exported image carries."""

from __future__ import annotations

import cv2
import numpy as np

LABEL_TEXT = "SIMULATION - not a real result"


def label_box(shape: tuple[int, int], text: str = LABEL_TEXT) -> tuple[int, int, int, int, float, int]:
    """Where the label goes: (y0, y1, x0, x1, font_scale, thickness), bottom-left corner."""
    h, w = shape
    scale = max(0.35, min(w, h) / 900.0)
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    if tw > w * 0.95:  # a narrow image: shrink to fit
        scale *= w * 0.95 / tw
        thick = max(1, int(round(scale * 2)))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(3, int(th * 0.5))
    y1 = h - pad
    y0 = max(0, y1 - th - base - 2 * pad)
    x0 = pad
    x1 = min(w, x0 + tw + 2 * pad)
    return y0, y1, x0, x1, scale, thick


def add_label(rgb: np.ndarray, text: str = LABEL_TEXT, *, inplace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Draw the visible simulation label; returns the image and the mask of changed pixels.

    ``inplace=True`` draws into ``rgb`` itself (for a fresh image nobody else holds, such as
    the output of `pigment.render_dots`): it saves a copy of the whole photo.
    """
    out = rgb if inplace else rgb.copy()
    y0, y1, x0, x1, scale, thick = label_box(rgb.shape[:2], text)
    region = out[y0:y1, x0:x1]
    # darken the box: 35 % photo + 65 % of grey 20, rounded, in one pass over the box only
    cv2.convertScaleAbs(region, region, alpha=0.35, beta=20 * 0.65)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = (x0 + (x1 - x0 - tw) // 2, y1 - base - max(1, (y1 - y0 - th - base) // 2))
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    mask = np.zeros(rgb.shape[:2], bool)
    mask[y0:y1, x0:x1] = True
    return out, mask


def side_by_side(before: np.ndarray, after: np.ndarray, *, gap: int | None = None) -> np.ndarray:
    """Before | after, with captions. ``after`` should already carry its simulation label
    (as `preview.Preview.after` does); the caption says "simulation" as well."""
    h, w = before.shape[:2]
    gap = gap if gap is not None else max(4, w // 100)
    canvas = np.empty((h, 2 * w + gap, 3), np.uint8)  # every pixel is written below: no fill pass
    canvas[:, :w] = before
    canvas[:, w : w + gap] = 255
    canvas[:, w + gap :] = after
    scale = max(0.4, min(w, h) / 900.0)
    thick = max(1, int(round(scale * 2)))
    for text, x in (("BEFORE", 0), ("AFTER (SIMULATION)", w + gap)):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        pad = max(3, th // 2)
        cv2.rectangle(canvas, (x, 0), (x + tw + 2 * pad, th + base + 2 * pad), (20, 20, 20), -1)
        cv2.putText(canvas, text, (x + pad, th + pad), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)
    return canvas


PNG_LEVEL = 1
"""zlib level of PNG output: 1 is the fastest that still compresses (level 6, PIL's default,
is 4-8x slower on 12 MP photos for files about 15 % smaller)."""
JPEG_QUALITY = 95
_PNG_STRIP_BYTES = 1 << 20
"""Images larger than this are deflated in horizontal strips on several threads."""
_pool = None
_pool_pid = None


def _threads():
    """The PNG threads of this process (a forked child makes its own: the parent's threads do not
    exist there, and a pool inherited through fork would wait for them forever)."""
    global _pool, _pool_pid
    import os

    if _pool is None or _pool_pid != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                   thread_name_prefix="smp-png")
        _pool_pid = os.getpid()
    return _pool


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


def encode_png(img: np.ndarray) -> bytes:
    """Lossless 8-bit PNG of an RGB (H, W, 3) or grey (H, W) uint8 image, fast.

    Every row uses PNG's "up" filter (computed with numpy) and zlib level 1 with run-length
    matching; large images are deflated in strips on several threads (zlib releases the GIL)
    and the strips joined into one stream, as pigz does. Any PNG reader decodes it.
    """
    import os
    import struct
    import zlib

    img = np.ascontiguousarray(img)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError(f"encode_png takes uint8 grey or RGB images, not {img.dtype} {img.shape}.")
    h, w = img.shape[:2]
    flat = img.reshape(h, -1)
    raw = np.empty((h, 1 + flat.shape[1]), np.uint8)
    raw[:, 0] = 2  # filter type "up": each byte minus the byte above it (mod 256)
    raw[:1, 1:] = flat[:1]
    np.subtract(flat[1:], flat[:-1], out=raw[1:, 1:])
    pool = _threads()
    n = 1 if raw.nbytes <= _PNG_STRIP_BYTES else max(1, min(4, os.cpu_count() or 1))
    bounds = np.linspace(0, h, n + 1).astype(int)

    def deflate(i: int) -> bytes:
        c = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
        last = i == n - 1
        return c.compress(raw[bounds[i] : bounds[i + 1]]) + c.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)

    if n == 1:
        parts, adler = [deflate(0)], zlib.adler32(raw)
    else:
        adler_job = pool.submit(zlib.adler32, raw)
        parts = list(pool.map(deflate, range(n)))
        adler = adler_job.result()
    colour_type = 2 if img.ndim == 3 else 0
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)),
        _png_chunk(b"IDAT", b"".join((b"\x78\x01", *parts, struct.pack(">I", adler)))),
        _png_chunk(b"IEND", b""),
    ))


def encode_image(rgb: np.ndarray, ext: str = ".png") -> bytes | np.ndarray:
    """Encode an RGB (or single-channel) image to ``ext`` (".png", ".jpg", ...) in memory.

    Returns a bytes-like object (``bytes(...)`` of it for ``bytes``). PNG of 8-bit grey or RGB
    goes through the fast `encode_png`; use this to send images to a browser as well.
    """
    ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
    if ext == ".png" and rgb.dtype == np.uint8 and (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        return encode_png(rgb)
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 and rgb.shape[2] == 3 else rgb
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in (".jpg", ".jpeg") else []
    try:
        ok, buf = cv2.imencode(ext, img, params)
    except cv2.error:
        ok, buf = False, None
    if not ok:
        raise ValueError(f"Cannot encode an image as {ext!r}; use .png or .jpg.")
    return buf


def write_image(path, rgb: np.ndarray) -> None:
    """Write an RGB image atomically (temporary file, then rename), format from the extension."""
    import os
    from pathlib import Path

    path = Path(path)
    ext = path.suffix.lower() or ".png"
    try:
        buf = encode_image(rgb, ext)
    except ValueError:
        raise ValueError(f"Cannot write {path}: unknown image format {ext!r}; use .png or .jpg.") from None
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as fh:
        fh.write(buf)  # the encoder's buffer as is: no copy into a bytes object
    os.replace(tmp, path)


LABEL_COLOURS = np.array(
    [[0, 0, 0], [255, 200, 150], [255, 60, 200], [60, 220, 60], [60, 120, 255]], np.uint8
)
"""Overlay colours of labels 0-4: background (none), other skin, scalp skin, head hair, other."""


def overlay_labels(rgb: np.ndarray, labels: np.ndarray, *, alpha: float = 0.45,
                   zone: np.ndarray | None = None, hairline_px: np.ndarray | None = None) -> np.ndarray:
    """The photo with the label map tinted over it (background left clear), the treated zone
    outlined in white and the designed hairline in yellow. For looking, not for export."""
    col = LABEL_COLOURS[np.clip(labels, 0, 4)].astype(np.float32)
    a = np.where(labels[..., None] > 0, alpha, 0.0)
    out = (rgb.astype(np.float32) * (1 - a) + col * a).astype(np.uint8)
    if zone is not None and zone.any():
        contours, _ = cv2.findContours(zone.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, (255, 255, 255), max(1, min(rgb.shape[:2]) // 500))
    if hairline_px is not None and len(hairline_px) > 1:
        cv2.polylines(out, [np.round(hairline_px).astype(np.int32)], False, (255, 230, 0),
                      max(1, min(rgb.shape[:2]) // 400), cv2.LINE_AA)
    return out
