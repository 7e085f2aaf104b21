"""The repeatable realism check: render sample photos at a range of settings and look at them.

Writes into OUT_DIR (default /tmp/smp_contact):
  sheet_<photo>.png        scalp crops: density (sessions 1-3 = 30/70/100 %), looks, shades, dot sizes
  row_<photo>_<what>.png   each row of the sheet on its own (sessions, looks, shades, sizes)
  crop100_<photo>_*.png    the same scalp at 100 % (native pixels), before and after
  closeup_<photo>_*.png    a 24 x 18 mm patch of scalp upscaled to 12 px/mm and rendered at that
                           scale (individual dots), for density, look and shade
Every image carries the "simulation" label. Look at them after each change to the renderer.

    PYTHONPATH=. python scripts/contact_sheet.py [PHOTO ...] [-o OUT_DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from smp_preview.analysis import analyse
from smp_preview.compose import add_label, write_image
from smp_preview.photo import load_photo
from smp_preview.pigment import SHADE_ORDER, floor_of, head_ellipse_of, render_dots, suggest_shade
from smp_preview.preview import render
from smp_preview.settings import Settings
from smp_preview.stipple import stipple

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = ["samples/bald_S001224.jpg", "samples/balding_A000055.jpg", "samples/biden.jpg"]
CLOSEUP_PX_PER_MM = 12.0
TILE_H = 260


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((22, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, img])


def _fit(img: np.ndarray, h: int) -> np.ndarray:
    w = max(1, round(img.shape[1] * h / img.shape[0]))
    interp = cv2.INTER_AREA if h < img.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(img, (w, h), interpolation=interp)


def _grid(rows: list[list[np.ndarray]]) -> np.ndarray:
    width = max(sum(t.shape[1] + 4 for t in r) for r in rows)
    out = []
    for r in rows:
        line = np.hstack([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in r])
        out.append(np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0)), constant_values=255))
    return np.vstack(out)


def _scalp_box(p, shape) -> tuple[int, int, int, int]:
    y0, y1, x0, x1 = p.zones.bbox
    h, w = shape
    my, mx = int(0.15 * (y1 - y0)) + 5, int(0.1 * (x1 - x0)) + 5
    return max(0, y0 - my), min(h, y1 + 2 * my), max(0, x0 - mx), min(w, x1 + mx)


def _skin_above_brows(a, mm: float) -> np.ndarray:
    """Skin and scalp pixels more than ``mm`` above the glabella, inside the head outline."""
    f = a.face
    h, w = a.rgb.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    g, up = f.glabella, f.up
    v = ((xs - g[0]) * up[0] + (ys - g[1]) * up[1]) / a.px_per_mm
    skin = np.isin(a.labels, (1, 2)) | (a.segmentation.head_mask & (a.labels != 0) & (a.labels != 3))
    from scipy.ndimage import binary_fill_holes

    return binary_fill_holes(skin & (v > mm))  # bright skin patches labelled as hair are scalp here


def _render_on(a, zone: np.ndarray, settings: Settings) -> np.ndarray:
    """The pigment stages of `preview.render` on a given zone (full density everywhere in it)."""
    ys, xs = np.nonzero(zone)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    zb = zone[y0:y1, x0:x1]
    dens = np.where(zb, settings.density_per_cm2, 0.0).astype(np.float32)
    dots = stipple(dens, a.px_per_mm, origin_xy=(x0, y0), seed=settings.seed, sessions=settings.planned_sessions)
    dots = dots.upto(settings.shown_session)
    img, _ = render_dots(a.rgb, dots, zb, (y0, y1, x0, x1), a.px_per_mm, dot_size_mm=settings.dot_size_mm,
                         shade=settings.shade, look=settings.look, seed=settings.seed,
                         head_ellipse=head_ellipse_of(a), floor_rgb=floor_of(a))
    return img


def contact_sheet(path: Path, out: Path) -> list[Path]:
    a = analyse(load_photo(path))
    stem = path.stem
    name, reason = suggest_shade(a)
    print(f"{stem}: {a.px_per_mm:.2f} px/mm; suggested shade {reason}")
    base = Settings(density_per_cm2=100, dot_size_mm=0.25, shade="medium", seed=1)
    ref = render(a, base)
    own_zone = None
    if ref.zones.area_cm2(a.px_per_mm) < 20 and a.face is not None:
        # the designed zone is too small to judge the pigment: use all skin 45 mm above the brows
        own_zone = _skin_above_brows(a, 45.0)
        print(f"  design zone {ref.zones.area_cm2(a.px_per_mm):.1f} cm²: using skin 45 mm above the brows "
              f"({own_zone.sum() / (a.px_per_mm * 10) ** 2:.0f} cm²) to judge the pigment")

    def after(settings: Settings) -> np.ndarray:
        if own_zone is None:
            return render(a, settings).after
        return _render_on(a, own_zone, settings)

    if own_zone is not None:
        ys, xs = np.nonzero(own_zone)
        h, w = a.rgb.shape[:2]
        box = (max(0, ys.min() - 10), min(h, ys.max() + 40), max(0, xs.min() - 10), min(w, xs.max() + 10))
    else:
        box = _scalp_box(ref, a.rgb.shape[:2])

    def tile(settings: Settings, text: str) -> np.ndarray:
        y0, y1, x0, x1 = box
        return _caption(_fit(after(settings)[y0:y1, x0:x1], TILE_H), text)

    y0, y1, x0, x1 = box
    before = _caption(_fit(a.rgb[y0:y1, x0:x1], TILE_H), "before")
    rows = [
        [before] + [tile(base.replace(session=k), f"session {k}/3 ({pct} %)") for k, pct in ((1, 30), (2, 70), (3, 100))],
        [before] + [tile(base.replace(look=lk), lk) for lk in ("fresh", "healed", "years:5")],
        [tile(base.replace(shade=s), s) for s in SHADE_ORDER],
        [tile(base.replace(dot_size_mm=d, density_per_cm2=dn), f"{d} mm, {dn:.0f}/cm2")
         for d, dn in ((0.15, 60), (0.3, 60), (0.15, 120), (0.3, 120))],
    ]
    sheet, _ = add_label(_grid(rows))
    files = [out / f"sheet_{stem}.png"]
    write_image(files[0], sheet)
    for row, what in zip(rows, ("sessions", "looks", "shades", "sizes")):
        files.append(out / f"row_{stem}_{what}.png")
        write_image(files[-1], add_label(_grid([row]))[0])
    # 100 % crops: native pixels, a 60 x 40 mm window around the zone's deepest point, enlarged (nearest)
    if own_zone is None:
        dist = cv2.distanceTransform(ref.zones.full.astype(np.uint8), cv2.DIST_L2, 5)
        iy, ix = np.unravel_index(int(np.argmax(dist)), dist.shape)
        cy, cx = int(iy + ref.zones.bbox[0]), int(ix + ref.zones.bbox[2])
    else:
        dist = cv2.distanceTransform(own_zone.astype(np.uint8), cv2.DIST_L2, 5)
        cy, cx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    hw, hh = int(30 * a.px_per_mm), int(20 * a.px_per_mm)
    win = (slice(max(0, cy - hh), cy + hh), slice(max(0, cx - hw), cx + hw))
    k = max(1, round(240 / (2 * hh)))
    for label, settings in (("before", None), ("healed", base), ("fresh", base.replace(look="fresh")),
                            ("years5", base.replace(look="years:5"))):
        img = a.rgb if settings is None else after(settings)
        crop = cv2.resize(img[win], None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
        f = out / f"crop100_{stem}_{label}.png"
        write_image(f, add_label(_caption(crop, f"{label} 100 % x{k}"))[0])
        files.append(f)
    files += closeups(a, stem, out, (cx, cy), name)
    return files


def closeups(a, stem: str, out: Path, centre: tuple[int, int], shade: str) -> list[Path]:
    """Upscale a 24 x 18 mm patch to 12 px/mm and render it at that scale, one tile per setting."""
    s = a.px_per_mm
    f = CLOSEUP_PX_PER_MM / s
    cx, cy = centre
    hw, hh = int(12 * s), int(9 * s)
    patch = a.rgb[max(0, cy - hh):cy + hh, max(0, cx - hw):cx + hw]
    big = cv2.resize(patch, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
    zone = np.ones(big.shape[:2], bool)  # the patch is chosen inside the scalp: treat all of it
    h, w = zone.shape
    floor = floor_of(a)

    def one(density, look, shd, session=3):
        dens = np.where(zone, density, 0.0).astype(np.float32)
        dots = stipple(dens, CLOSEUP_PX_PER_MM, seed=1).upto(session)
        img, _ = render_dots(big, dots, zone, (0, h, 0, w), CLOSEUP_PX_PER_MM, dot_size_mm=0.25, shade=shd,
                             look=look, floor_rgb=floor, photo_blur_px=0.8)
        return img

    tiles = [_caption(big, "before (upscaled)")]
    tiles += [_caption(one(100, "healed", shade, k), f"session {k} ({p} %)") for k, p in ((1, 30), (2, 70), (3, 100))]
    tiles += [_caption(one(100, lk, shade), lk) for lk in ("fresh", "years:5")]
    tiles += [_caption(one(100, "healed", sh), sh) for sh in ("lightest", "darkest")]
    rows = [tiles[:4], tiles[4:]]
    file = out / f"closeup_{stem}.png"
    write_image(file, add_label(_grid(rows))[0])
    return [file]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", default=DEFAULT_PHOTOS)
    ap.add_argument("-o", "--out", default="/tmp/smp_contact")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for p in args.photos:
        path = Path(p) if Path(p).is_absolute() else ROOT / p
        for f in contact_sheet(path, out):
            print(f)


if __name__ == "__main__":
    main()
