"""Score the label maps against hand-labelled photos, save overlays, time the analysis.

Usage (from the checkout)::

    PYTHONPATH=. /work/venv/bin/python bench/segmentation.py \
        [--photos ../shared/photos/house] [--out /tmp/seg/overlays] [--timing] [--only NAME ...]
        [--faceless] [--closeups] [--variants [NAME ...]]

Scoring follows ``shared/photos/README.md``: predictions are mapped to four classes
(0 background; 1 and 2 skin; 3 hair; 4 other), each class's IoU is **pooled** over the set
(intersections and unions summed over all photos, then divided; the headline), and also
averaged over the photos where the class occurs in the truth or the prediction. Pixel accuracy
is printed too, overall and per photo.

Overlays (``<out>/<name>.png``): the photo, the prediction, the truth and the errors side by
side; labels as colours (skin orange, scalp yellow, hair green, other purple, background
unchanged), error pixels red where the truth says skin/hair and blue elsewhere.

``--variants [NAME ...]`` also scores degraded variants made from each photo and its hand labels
(all by default, ~2 minutes): ``scale0.5`` / ``scale0.35`` (labels INTER_NEAREST), ``jpeg40``,
``bg-<name>`` (the person, truth != 0, its outer 2 px recoloured from further in so that no
studio-blue rim comes along, pasted with a one-pixel feather on busy scikit-image backgrounds: astro, coffee, chelsea, rocket, ihc, wood; the new pixels are background), ``mirror``,
``dark0.5`` / ``bright1.4`` / ``bright1.8`` (gains in linear light), ``warm`` / ``cool`` (white
balance casts), ``news`` (pasted, 0.6x, JPEG 50), ``wide`` (the portrait at the bottom of a scene
3x as wide and 2x as tall), ``crowd`` (a bystander: the photo mirrored at 0.55x behind the
client's shoulder, its body run on to the frame's bottom, labelled background) and ``12mp``
(cubic upscale, timed). One row per variant: pooled IoU,
photos without a face found, median analysis time, the two worst photos; overlays in
``<out>/variants/<variant>/``.

``--closeups`` scores crown close-ups without a face (`CLOSE_UPS`: the whole top above the
brows, the head filling the frame, reaching three edges with backdrop in the corners, or with
more backdrop, and the scalp cut well inside the head on all four sides at two offsets), at the
photo's size and 4x enlarged: mean skin IoU, photos under 0.8, the
assumed-head-width scale against the iris scale, photos refused; overlays in
``<out>/closeups/<kind>/``.

``--timing`` times `analyse` on a 2-megapixel photo (a sample upscaled to 1224 x 1632), and on
two photos without a face (the top of that sample's head, a crown close-up), and
prints the median of several runs with the threads the machine has (set ``OMP_NUM_THREADS`` /
run under ``taskset -c 0,1`` for the 2-core figure).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smp_preview.analysis import analyse
from smp_preview.errors import NoHeadFound
from smp_preview.models import get_models
from smp_preview.photo import load_photo

CLASSES = ("background", "skin", "hair", "other")
_TO4 = np.array([0, 1, 1, 2, 3], np.uint8)  # label value -> scoring class
_COLOURS = {1: (255, 140, 40), 2: (255, 230, 0), 3: (0, 200, 60), 4: (150, 60, 220)}


def default_photos() -> Path:
    for cand in (ROOT.parent / "shared" / "photos" / "house", Path("/work/shared/photos/house")):
        if (cand / "photos").is_dir():
            return cand
    return ROOT.parent / "shared" / "photos" / "house"


def to_classes(labels: np.ndarray) -> np.ndarray:
    """Map contract labels (0-4) to the four scoring classes (skin and scalp together)."""
    return _TO4[np.clip(labels, 0, 4)]


def confusion(pred4: np.ndarray, true4: np.ndarray) -> np.ndarray:
    """4x4 confusion counts, rows = truth, columns = prediction."""
    return np.bincount(true4.ravel().astype(np.int64) * 4 + pred4.ravel(), minlength=16).reshape(4, 4)


def ious(conf: np.ndarray) -> np.ndarray:
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def colourise(rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    out = rgb.astype(np.float32).copy()
    for v, c in _COLOURS.items():
        m = labels == v
        out[m] = (1 - alpha) * out[m] + alpha * np.array(c, np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def overlay(rgb: np.ndarray, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Photo | prediction | truth | errors, one row (RGB)."""
    p4, t4 = to_classes(pred), to_classes(truth)
    err = (rgb.astype(np.float32) * 0.35).astype(np.uint8)
    wrong = p4 != t4
    err[wrong & np.isin(t4, (1, 2))] = (255, 40, 40)
    err[wrong & ~np.isin(t4, (1, 2))] = (60, 120, 255)
    truth_vis = np.where(truth == 2, 1, truth)  # the truth has no scalp class
    return np.concatenate([rgb, colourise(rgb, pred), colourise(rgb, truth_vis), err], axis=1)


def score(photos_dir: Path, out_dir: Path | None, only: list[str] | None) -> dict:
    models = get_models()
    names = sorted(p.stem for p in (photos_dir / "labels").glob("*.png"))
    if only:
        names = [n for n in names if n in only]
    pooled = np.zeros((4, 4), np.int64)
    rows = []
    confs = {}
    times = []
    for name in names:
        photo_path = next((photos_dir / "photos").glob(f"{name}.*"))
        truth = cv2.imread(str(photos_dir / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        photo = load_photo(photo_path)
        t0 = time.perf_counter()
        a = analyse(photo, models)
        times.append((time.perf_counter() - t0) * 1e3)
        pred = a.labels
        conf = confusion(to_classes(pred), to_classes(truth))
        pooled += conf
        rows.append((name, ious(conf), np.trace(conf) / conf.sum()))
        confs[name] = conf
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out_dir / f"{name}.png"), cv2.cvtColor(overlay(photo.rgb, pred, truth), cv2.COLOR_RGB2BGR))
    pooled_iou = ious(pooled)
    per = np.array([r[1] for r in rows])
    print(f"{'photo':10s} " + " ".join(f"{c:>10s}" for c in CLASSES) + f" {'pix.acc':>8s}")
    for name, iou, acc in sorted(rows, key=lambda r: np.nanmean(r[1][1:3])):
        print(f"{name:10s} " + " ".join(f"{v:10.3f}" if np.isfinite(v) else f"{'-':>10s}" for v in iou) + f" {acc:8.4f}")
    print("-" * 64)
    print(f"{'pooled':10s} " + " ".join(f"{v:10.3f}" for v in pooled_iou) + f" {np.trace(pooled) / pooled.sum():8.4f}")
    print(f"{'img-avg':10s} " + " ".join(f"{np.nanmean(per[:, k]):10.3f}" for k in range(4))
          + f" {np.mean([r[2] for r in rows]):8.4f}")
    print(f"{len(rows)} photos; analysis median {statistics.median(times):.0f} ms per photo "
          f"(photos of {photo.rgb.shape[1]}x{photo.rgb.shape[0]} px)")
    return {"pooled": pooled_iou, "rows": rows, "confusion": pooled, "per_photo_confusion": confs}


def _labelled_with_brows(photos_dir: Path, only: list[str] | None, models):
    """Each labelled photo with a face: (name, photo, truth, analysis, brow row), the brow row 2 px
    above the brows' highest landmark (where `faceless` and `closeups` cut the head off)."""
    from smp_preview.face import BROW_LEFT, BROW_RIGHT

    names = sorted(p.stem for p in (photos_dir / "labels").glob("*.png"))
    for name in names:
        if only and name not in only:
            continue
        photo = load_photo(next((photos_dir / "photos").glob(f"{name}.*")))
        truth = cv2.imread(str(photos_dir / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        a = analyse(photo, models)
        if a.face is None:
            continue
        yield name, photo, truth, a, int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2


def faceless(photos_dir: Path, only: list[str] | None, out_dir: Path | None = None) -> dict:
    """Score the path for photos without a usable face: each photo cut off just above the
    brows (the top of the head only, as in a top or back view), so no face is found and only
    colour and texture decide. Prints the same table for the crops, then one pooled row for the
    crops pasted on each busy background (as the ``bg-*`` variants are; a top or back view is
    seldom taken against a studio backdrop). Overlays of the pasted crops go to
    ``<out>/faceless/<background>/<name>.png``."""
    from smp_preview.photo import Photo

    models = get_models()
    backdrops = {"studio": None, **_backgrounds()}
    pooled = {k: np.zeros((4, 4), np.int64) for k in backdrops}
    missed = {k: [] for k in backdrops}
    rows, no_face = [], 0
    for name, photo, truth, _, cut in _labelled_with_brows(photos_dir, only, models):
        crop, t = np.ascontiguousarray(photo.rgb[:cut]), truth[:cut]
        for bg_name, bg in backdrops.items():
            rgb = crop if bg is None else _pasted(crop, t, bg)[0]
            try:
                top = analyse(Photo(rgb, f"{name}_top"), models)
                no_face += bg is None and top.face is None
                pred = top.labels
            except NoHeadFound:  # scored as all background
                missed[bg_name].append(name)
                pred = np.zeros(t.shape, np.uint8)
            conf = confusion(to_classes(pred), to_classes(t))
            pooled[bg_name] += conf
            if bg is None:
                rows.append((name, ious(conf), np.trace(conf) / conf.sum()))
            elif out_dir is not None:
                d = out_dir / "faceless" / bg_name
                d.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(d / f"{name}.png"),
                            cv2.cvtColor(overlay(rgb, pred, t), cv2.COLOR_RGB2BGR))
    print(f"face-less crops (each photo above its brows): {no_face} of {len(rows)} without a face found; "
          f"no head found in {len(missed['studio'])}: {' '.join(missed['studio'])}")
    for name, iou, acc in sorted(rows, key=lambda r: np.nanmean(r[1][1:3])):
        print(f"{name:10s} " + " ".join(f"{v:10.3f}" if np.isfinite(v) else f"{'-':>10s}" for v in iou) + f" {acc:8.4f}")
    studio = pooled["studio"]
    print(f"{'pooled':10s} " + " ".join(f"{v:10.3f}" for v in ious(studio)) + f" {np.trace(studio) / studio.sum():8.4f}")
    print("\nthe same crops pasted on busy backgrounds (pooled IoU; 'no head': NoHeadFound, scored as all background)")
    print(f"{'backdrop':10s} {'background':>10s} {'skin':>10s} {'hair':>10s} {'pix.acc':>8s}  no head")
    for bg_name, conf in pooled.items():
        iou = ious(conf)
        print(f"{bg_name:10s} " + " ".join(f"{v:10.3f}" for v in iou[:3])
              + f" {np.trace(conf) / conf.sum():8.4f}  {len(missed[bg_name])} {' '.join(missed[bg_name])}")
    return {"pooled": ious(studio), "rows": rows, "confusion": studio,
            "backdrops": {k: ious(v) for k, v in pooled.items()}, "missed": missed}


# crops of the head from above: the crown filling the frame, reaching three edges with backdrop in
# the corners, or with more of it, as (px under the crown, px inside the outline at the brows);
# the scalp cut well inside the head at all four edges, as head-width shares (under the crown,
# above the brows, inside the outline); None: the whole top above the brows, as `faceless` cuts it
CLOSE_UPS = {"whole top": None, "fills": (30, 40), "corners": (15, 25), "more backdrop": (5, 10),
             "inside": (0.15, 0.1, 0.2), "inside low": (0.2, 0.15, 0.12)}


def closeups(photos_dir: Path, only: list[str] | None, out_dir: Path | None = None) -> dict:
    """Score crown close-ups: each labelled head cut from some rows under the crown down to the
    brows' height and some px inside its outline at the brows (`CLOSE_UPS`), as a top view that
    the head fills or nearly fills; at the photo's size and 4x enlarged (cubic). Prints the mean
    skin IoU (skin and scalp against label 1), the photos under 0.8 and those refused, the share
    of backdrop in the frame, and the scale the close-up gets (from the assumed head width)
    over the iris scale of the whole photo. Overlays go to ``<out>/closeups/<kind>/<name>.png``."""
    from smp_preview.photo import Photo

    models = get_models()
    res = {(k, up): [] for k in CLOSE_UPS for up in (1, 4)}
    scale = {key: [] for key in res}  # the assumed-head-width scale over the iris scale
    refused = {key: [] for key in res}
    backdrop = {k: [] for k in CLOSE_UPS}
    for name, photo, truth, a, brow in _labelled_with_brows(photos_dir, only, models):
        head = truth[:brow] > 0
        top = int(np.flatnonzero(head.any(axis=1))[0])
        cols = np.flatnonzero(head[brow - 5])
        for kind, cut in CLOSE_UPS.items():
            if cut is None:
                box = (slice(0, brow), slice(None))
            elif len(cut) == 3:
                w = cols[-1] - cols[0]
                below, above, inside = (int(c * w) for c in cut)
                box = (slice(top + below, brow - above), slice(cols[0] + inside, cols[-1] - inside))
            else:
                below, inside = cut
                box = (slice(top + below, brow), slice(cols[0] + inside, cols[-1] - inside))
            crop, t = np.ascontiguousarray(photo.rgb[box]), truth[box]
            backdrop[kind].append(float((t == 0).mean()))
            for up in (1, 4):
                rgb = crop if up == 1 else cv2.resize(crop, None, fx=up, fy=up, interpolation=cv2.INTER_CUBIC)
                tt = t if up == 1 else cv2.resize(t, None, fx=up, fy=up, interpolation=cv2.INTER_NEAREST)
                try:
                    b = analyse(Photo(rgb, f"{name}_{kind}"), models)
                    pred = b.labels
                    scale[(kind, up)].append(b.px_per_mm / (a.px_per_mm * up))
                except NoHeadFound:
                    refused[(kind, up)].append(name)
                    pred = np.zeros(tt.shape, np.uint8)
                sk, st = np.isin(pred, (1, 2)), tt == 1
                res[(kind, up)].append((float((sk & st).sum()) / max(1, int((sk | st).sum())), name))
                if out_dir is not None and up == 1:
                    d = out_dir / "closeups" / kind.replace(" ", "_")
                    d.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(d / f"{name}.png"),
                                cv2.cvtColor(overlay(rgb, pred, tt), cv2.COLOR_RGB2BGR))
    print("\ncrown close-ups without a face (skin IoU: skin and scalp against the labelled skin)")
    print("(scale: the assumed-head-width scale over the iris scale of the same pixels, median and 10-90 %)")
    print(f"{'close-up':14s} {'size':>5s} {'backdrop':>9s} {'skin IoU':>9s} {'under 0.8':>10s} "
          f"{'scale':>18s}  refused")
    for (kind, up), v in res.items():
        under = [n for x, n in v if x < 0.8]
        sc = np.array(scale[(kind, up)]) if scale[(kind, up)] else np.array([np.nan])
        print(f"{kind:14s} {up:4d}x {np.mean(backdrop[kind]):9.3f} {np.mean([x for x, _ in v]):9.3f} "
              f"{len(under):10d} {np.median(sc):6.2f} ({np.percentile(sc, 10):.2f}-{np.percentile(sc, 90):.2f})"
              f"  {len(refused[(kind, up)])} {' '.join(refused[(kind, up)])}")
    return {"skin": {k: float(np.mean([x for x, _ in v])) for k, v in res.items()}, "refused": refused,
            "scale": {k: float(np.median(v)) if v else float("nan") for k, v in scale.items()}}


# --------------------------------------------------------------------------- degraded variants
# Each variant makes a new (photo, truth) pair from a labelled photo and its hand labels, to see
# how the method holds up on photos unlike the studio set: smaller faces, JPEG blocks, busy
# backgrounds, other exposure and white balance, a 12-megapixel camera file.

_VARIANT_MP = 12.0  # the "12mp" variant's size in megapixels (cubic upscale)


def _srgb_gain(rgb: np.ndarray, gains) -> np.ndarray:
    """Multiply the light of an sRGB uint8 image by per-channel gains in linear light."""
    c = rgb.astype(np.float32) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) * np.asarray(gains, np.float32)
    lin = np.clip(lin, 0.0, 1.0)
    out = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.round(out * 255.0).astype(np.uint8)


def _white_balance(kelvin_gains) -> tuple[float, float, float]:
    """Channel gains normalised to keep the luminance (Rec. 709 weights) of a grey."""
    g = np.asarray(kelvin_gains, np.float64)
    return tuple(g / float(np.dot(g, (0.2126, 0.7152, 0.0722))))


def _scaled(rgb, truth, k, interp=cv2.INTER_AREA):
    h, w = truth.shape
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return cv2.resize(rgb, size, interpolation=interp), cv2.resize(truth, size, interpolation=cv2.INTER_NEAREST)


def _jpeg(rgb, quality):
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _backgrounds() -> dict:
    """Busy real backgrounds from scikit-image's bundled images (no face in any of them)."""
    from skimage import data

    astro = data.astronaut()
    coffee = data.coffee()
    return {
        "astro": astro[:, 330:],  # the shuttle and the grey wall beside the astronaut (her face left out)
        "coffee": coffee,  # a red cup on a wooden table
        "chelsea": data.chelsea(),  # a ginger cat: warm, fibrous, skin- and hair-like
        "rocket": data.rocket(),  # night sky, gantries and lights
        "ihc": data.immunohistochemistry(),  # brown and blue tissue: busy, brown like skin and hair
        "wood": coffee[:, :120],  # the bare wooden table: skin-coloured grain
    }


def _fill(bg: np.ndarray, h: int, w: int) -> np.ndarray:
    """Resize ``bg`` to cover h x w (aspect kept) and crop the centre."""
    k = max(h / bg.shape[0], w / bg.shape[1])
    big = cv2.resize(bg, (max(w, round(bg.shape[1] * k)), max(h, round(bg.shape[0] * k))), interpolation=cv2.INTER_CUBIC)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return big[y:y + h, x:x + w]


_RIM_PX = 2  # the person's outer pixels replaced before a paste (they carry the studio backdrop)
_SPILL_PX = 8  # the backdrop's blue light reaches this far into the head's outline (at 335 px wide)


def _decontaminated(rgb: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The photo with the studio backdrop taken out of the person's outline.

    The outline of a studio portrait mixes the person with the blue backdrop, and the backdrop's
    light spills onto the head's edge (a lilac rim on a bald head, blue on the fringe's outer
    hairs, measured reaching 5-8 px in). Pasted as it is on another background, that blue rim
    would stay around the head as a halo no real photo has (a real outline mixes with the
    background actually behind it). So the person's outer ``_RIM_PX`` pixels are given the colour
    of the nearest pixel further in, and within ``_SPILL_PX`` of the outline the head's skin
    and hair (truth 1 and 3) are despilled as in blue-screen keying: blue is held to green plus
    the median blue-minus-green of the same class further in (0, neutral, for hair too thin to
    have an inside). The paste's own feather then makes the
    new, realistic mix.
    """
    from scipy import ndimage

    person = truth > 0
    inner = cv2.erode(person.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=_RIM_PX).astype(bool)
    if not inner.any():
        return rgb
    _, (iy, ix) = ndimage.distance_transform_edt(~inner, return_indices=True)
    out = rgb[iy, ix].astype(np.int16)
    depth = ndimage.distance_transform_edt(person)
    reach = _SPILL_PX * truth.shape[1] / 335.0
    b, g = out[..., 2], out[..., 1]
    for k in (1, 3):  # skin, then hair: each held to its own interior's blue
        cls = truth == k
        core = cls & (depth > 2 * reach)
        if core.sum() < 50:
            core = cls & (depth > reach)
        offset = round(float(np.median(b[core] - g[core]))) if core.sum() >= 50 else 0
        band = cls & (depth <= reach)
        b[band] = np.minimum(b[band], g[band] + offset)
    return np.clip(out, 0, 255).astype(np.uint8)


def _pasted(rgb, truth, bg):
    """The person (truth != 0) on ``bg``, the paste edge feathered by about a pixel (the studio
    backdrop's colour taken out of the person's rim first, see `_decontaminated`)."""
    person = truth > 0
    a = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 0.8)[..., None]
    back = _fill(bg, *truth.shape).astype(np.float32)
    fg = _decontaminated(rgb, truth).astype(np.float32)
    return np.round(fg * a + back * (1 - a)).astype(np.uint8), truth


def variant_makers() -> dict:
    """name -> function (rgb, truth, index) -> (rgb, truth) for every degraded variant."""
    bgs = _backgrounds()
    warm = _white_balance((1.0, 0.78, 0.50))  # an uncorrected tungsten lamp (~3000 K under a daylight setting)
    cool = _white_balance((0.80, 0.92, 1.15))  # shade/overcast under a tungsten setting: bluish

    def mp12(rgb, truth, i):
        h, w = truth.shape
        k = float(np.sqrt(_VARIANT_MP * 1e6 / (h * w)))
        return _scaled(rgb, truth, k, cv2.INTER_CUBIC)

    def news(rgb, truth, i):  # a small, compressed press photo on a busy background
        names = ("coffee", "chelsea", "rocket", "astro", "ihc", "wood")
        r, t = _pasted(rgb, truth, bgs[names[i % len(names)]])
        r, t = _scaled(r, t, 0.6)
        return _jpeg(r, 50), t

    def wide(rgb, truth, i):  # the person small in a wide busy scene (a press photo's framing)
        h, w = truth.shape
        names = ("rocket", "coffee", "ihc", "astro", "chelsea", "wood")
        scene = _fill(bgs[names[i % len(names)]], 2 * h, 3 * w)
        t2 = np.zeros((2 * h, 3 * w), np.uint8)
        y, x = h, w + (i % 3 - 1) * w // 2  # standing at the bottom, left, centre or right of centre
        t2[y:, x:x + w] = truth
        person = np.zeros_like(scene)
        person[y:, x:x + w] = _decontaminated(rgb, truth)
        a = cv2.GaussianBlur((t2 > 0).astype(np.float32), (0, 0), 0.8)[..., None]
        return np.round(person * a + scene * (1 - a)).astype(np.uint8), t2

    def crowd(rgb, truth, i):  # a press photo: a bystander behind the client's shoulder
        h, w = truth.shape
        names = ("wood", "rocket", "astro", "ihc", "chelsea", "coffee")
        scene = _fill(bgs[names[i % len(names)]], h, 2 * w).astype(np.float32)
        k = 0.55  # the bystander (the same photo mirrored) further back, cut off by the frame below
        other = cv2.resize(_decontaminated(rgb, truth)[:, ::-1], None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        o_mask = cv2.resize((truth[:, ::-1] > 0).astype(np.float32), (other.shape[1], other.shape[0]),
                            interpolation=cv2.INTER_AREA)
        oy = h // 6
        rows = np.minimum(np.arange(h - oy), other.shape[0] - 1)  # the body runs on to the bottom
        other, o_mask = other[rows], o_mask[rows]
        left = i % 2 == 0
        ox = w // 20 if left else 2 * w - w // 20 - other.shape[1]
        x = ox + other.shape[1] - w // 4 if left else ox - w + w // 4  # the client overlaps its shoulder
        a = cv2.GaussianBlur(o_mask, (0, 0), 0.8)[..., None]
        box = scene[oy:, ox:ox + other.shape[1]]
        scene[oy:, ox:ox + other.shape[1]] = other * a + box * (1 - a)
        a = cv2.GaussianBlur((truth > 0).astype(np.float32), (0, 0), 0.8)[..., None]
        scene[:, x:x + w] = _decontaminated(rgb, truth) * a + scene[:, x:x + w] * (1 - a)
        t2 = np.zeros((h, 2 * w), np.uint8)  # the bystander is background: not the client
        t2[:, x:x + w] = truth
        return np.round(scene).astype(np.uint8), t2

    makers = {
        "original": lambda r, t, i: (r, t),
        "scale0.5": lambda r, t, i: _scaled(r, t, 0.5),
        "scale0.35": lambda r, t, i: _scaled(r, t, 0.35),
        "jpeg40": lambda r, t, i: (_jpeg(r, 40), t),
    }
    for name, bg in bgs.items():
        makers[f"bg-{name}"] = lambda r, t, i, bg=bg: _pasted(r, t, bg)
    makers.update({
        "mirror": lambda r, t, i: (np.ascontiguousarray(r[:, ::-1]), np.ascontiguousarray(t[:, ::-1])),
        "dark0.5": lambda r, t, i: (_srgb_gain(r, (0.5,) * 3), t),
        "bright1.4": lambda r, t, i: (_srgb_gain(r, (1.4,) * 3), t),
        "bright1.8": lambda r, t, i: (_srgb_gain(r, (1.8,) * 3), t),
        "warm": lambda r, t, i: (_srgb_gain(r, warm), t),
        "cool": lambda r, t, i: (_srgb_gain(r, cool), t),
        "news": news,
        "wide": wide,
        "crowd": crowd,
        "12mp": mp12,
    })
    return makers


def variants(photos_dir: Path, out_dir: Path | None, only: list[str] | None, which: list[str] | None) -> dict:
    """Score every degraded variant of every labelled photo; print one row per variant.

    Overlays go to ``<out>/variants/<variant>/<name>.png`` (the 12 MP ones reduced to the
    original size). Returns {variant: pooled IoU}.
    """
    from smp_preview.errors import PreviewError
    from smp_preview.photo import Photo

    models = get_models()
    makers = variant_makers()
    if which:
        unknown = [w for w in which if w not in makers]
        if unknown:
            raise SystemExit(f"unknown variant(s) {' '.join(unknown)}; known: {' '.join(makers)}")
        makers = {k: v for k, v in makers.items() if k in which}
    names = sorted(p.stem for p in (photos_dir / "labels").glob("*.png"))
    if only:
        names = [n for n in names if n in only]
    photos = [(n, load_photo(next((photos_dir / "photos").glob(f"{n}.*"))).rgb,
               cv2.imread(str(photos_dir / "labels" / f"{n}.png"), cv2.IMREAD_UNCHANGED)) for n in names]
    results = {}
    print(f"\nvariants of {len(photos)} labelled photos (pooled IoU per class; 'no face': the landmarker "
          f"found none; 'no head': NoHeadFound etc., scored as all background)")
    print(f"{'variant':12s} {'size':>9s} " + " ".join(f"{c:>10s}" for c in CLASSES)
          + f" {'pix.acc':>8s} {'no face':>8s} {'no head':>8s} {'ms/photo':>9s}  worst (mean IoU)")
    for vname, make in makers.items():
        pooled = np.zeros((4, 4), np.int64)
        no_face, failed, times, per = 0, 0, [], []
        for i, (name, rgb, truth) in enumerate(photos):
            vr, vt = make(rgb, truth, i)
            t0 = time.perf_counter()
            try:
                a = analyse(Photo(np.ascontiguousarray(vr), f"{name}_{vname}"), models)
                pred = a.labels
                no_face += a.face is None
            except PreviewError:
                pred = np.zeros(vt.shape, np.uint8)
                failed += 1
                no_face += 1
            times.append((time.perf_counter() - t0) * 1e3)
            conf = confusion(to_classes(pred), to_classes(vt))
            pooled += conf
            per.append((float(np.nanmean(ious(conf))), name))
            if out_dir is not None:
                d = out_dir / "variants" / vname
                d.mkdir(parents=True, exist_ok=True)
                ov = overlay(vr, pred, vt)
                if ov.shape[0] > 2 * truth.shape[0]:
                    k = truth.shape[0] / ov.shape[0]
                    ov = cv2.resize(ov, (round(ov.shape[1] * k), truth.shape[0]), interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(d / f"{name}.png"), cv2.cvtColor(ov, cv2.COLOR_RGB2BGR))
        iou = ious(pooled)
        results[vname] = iou
        worst = ", ".join(f"{n} {m:.2f}" for m, n in sorted(per)[:2])
        size = f"{vr.shape[1]}x{vr.shape[0]}"
        print(f"{vname:12s} {size:>9s} " + " ".join(f"{v:10.3f}" for v in iou)
              + f" {np.trace(pooled) / pooled.sum():8.4f} {no_face:8d} {failed:8d} {statistics.median(times):9.0f}  {worst}",
              flush=True)
    return results


def timing(runs: int) -> None:
    models = get_models()
    rgb = load_photo(ROOT / "samples" / "obama.jpg").rgb
    big = cv2.resize(rgb, (1224, 1632), interpolation=cv2.INTER_CUBIC)
    from smp_preview.photo import Photo

    photo = Photo(big, "obama_2mp")
    analyse(photo, models)  # warm-up
    totals, cpu, parts = [], [], {}
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        a = analyse(photo, models)
        totals.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        for k, v in a.timings_ms.items():
            parts.setdefault(k, []).append(v)
    print(f"analyse() on a {big.shape[1]}x{big.shape[0]} photo ({big.shape[0] * big.shape[1] / 1e6:.1f} MP), "
          f"{runs} runs, {cv2.getNumThreads()} OpenCV threads: median {statistics.median(totals):.0f} ms wall, "
          f"{statistics.median(cpu):.0f} ms CPU (all threads; the wall time on an idle 2-core machine lies "
          f"between half of it and all of it)")
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
        print(f"  load average while measuring: {load} (wall times are inflated on a busy machine)")
    except OSError:
        pass
    print("  stages (median ms): " + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in parts.items()))
    # photos without a face take the other path: the top of the same photo above the brows, and
    # a close-up of the bald sample's crown with backdrop in the corners, each scaled to 2 MP
    from smp_preview.face import BROW_LEFT, BROW_RIGHT

    for sample, close in (("obama.jpg", False), ("bald_S001224.jpg", True)):
        a = analyse(load_photo(ROOT / "samples" / sample), models)
        brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
        head = a.labels[:brow] > 0
        cols = np.flatnonzero(head[brow - 5])
        w = cols[-1] - cols[0]
        if close:
            top = int(np.flatnonzero(head.any(axis=1))[0])
            crop = a.rgb[top + int(0.05 * w): brow, cols[0] + int(0.08 * w): cols[-1] - int(0.08 * w)]
        else:
            crop = a.rgb[:brow, max(0, cols[0] - w // 2): cols[-1] + w // 2]
        k = np.sqrt(2e6 / (crop.shape[0] * crop.shape[1]))
        img = cv2.resize(np.ascontiguousarray(crop), None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
        faceless_photo = Photo(img, f"{sample}_top")
        analyse(faceless_photo, models)
        walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            analyse(faceless_photo, models)
            walls.append((time.perf_counter() - t0) * 1e3)
        what = "crown close-up" if close else "top of the head"
        print(f"  without a face ({what} of {sample}, {img.shape[1]}x{img.shape[0]}): "
              f"median {statistics.median(walls):.0f} ms wall")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=default_photos(), help="folder with photos/ and labels/")
    ap.add_argument("--out", type=Path, default=Path("/tmp/seg/overlays"), help="folder for the overlay PNGs")
    ap.add_argument("--no-overlays", action="store_true")
    ap.add_argument("--only", nargs="*", help="photo names to score (default all)")
    ap.add_argument("--timing", action="store_true", help="also time analyse() on a 2 MP photo")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--faceless", action="store_true",
                    help="also score each photo cut off above the brows (the path for photos without a face), "
                         "on the studio backdrop and pasted on busy backgrounds")
    ap.add_argument("--closeups", action="store_true",
                    help="also score crown close-ups without a face that the head fills or nearly fills")
    ap.add_argument("--variants", nargs="*", metavar="VARIANT",
                    help="also score degraded variants of each photo (smaller, JPEG, busy backgrounds, mirrored, "
                         "darker/brighter, warm/cool light, 12 MP); names pick some (default all)")
    args = ap.parse_args(argv)
    if not (args.photos / "labels").is_dir():
        print(f"no labelled photos in {args.photos} (expected photos/ and labels/ there)", file=sys.stderr)
        return 2
    score(args.photos, None if args.no_overlays else args.out, args.only)
    if args.faceless:
        faceless(args.photos, args.only, None if args.no_overlays else args.out)
    if args.closeups:
        closeups(args.photos, args.only, None if args.no_overlays else args.out)
    if args.variants is not None:
        variants(args.photos, None if args.no_overlays else args.out, args.only, args.variants)
    if args.timing:
        timing(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
