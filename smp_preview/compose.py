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


def add_label(rgb: np.ndarray, text: str = LABEL_TEXT) -> tuple[np.ndarray, np.ndarray]:
    """Draw the visible simulation label; returns the image and the mask of changed pixels."""
    out = rgb.copy()
    y0, y1, x0, x1, scale, thick = label_box(rgb.shape[:2], text)
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = (region * 0.35 + np.array([20, 20, 20]) * 0.65).astype(np.uint8)
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
    canvas = np.full((h, 2 * w + gap, 3), 255, np.uint8)
    canvas[:, :w] = before
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


def write_image(path, rgb: np.ndarray) -> None:
    """Write an RGB image atomically (temporary file, then rename), format from the extension."""
    import os
    from pathlib import Path

    path = Path(path)
    ext = path.suffix.lower() or ".png"
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)
    if not ok:
        raise ValueError(f"Cannot write {path}: unknown image format {ext!r}; use .png or .jpg.")
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(buf.tobytes())
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
