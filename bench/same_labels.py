#!/usr/bin/env python
"""Save and compare the label maps and hair coverage of analyse() on a set of photos.

A guard for speed work that must not change any output::

    PYTHONPATH=. /work/venv/bin/python bench/same_labels.py save [--ref /tmp/same_labels.npz]
    ... change the code ...
    PYTHONPATH=. /work/venv/bin/python bench/same_labels.py compare [--ref /tmp/same_labels.npz]

The set: every photo in ``<shared>/photos`` (default /work/shared/photos/house), the photos in
``samples/`` and ``samples/obama.jpg`` upscaled to 1224 x 1632 (cubic, the 2 MP timing photo) and to 3024 x 4032
(12 MP, the sparse upsampling path), and each house photo cut off just above the brows (the
path for photos without a face; as ``bench/segmentation.py --faceless``).
``compare`` prints, per photo, the number of label pixels that differ and the largest absolute
difference of the coverage, and exits 1 unless every label map is bitwise identical and every
coverage is within ``--tol`` (default 1e-4). Photos whose analysis raises (no head found) are
recorded by the error's class name and must raise the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smp_preview.analysis import analyse
from smp_preview.errors import PreviewError
from smp_preview.models import get_models
from smp_preview.photo import Photo, load_photo

_EXTS = {".jpg", ".jpeg", ".png"}


def photo_set(shared: Path, models):
    """Yield (name, Photo) for the comparison set."""
    from smp_preview.face import BROW_LEFT, BROW_RIGHT

    house = [p for p in sorted((shared / "photos").iterdir()) if p.suffix.lower() in _EXTS] \
        if (shared / "photos").is_dir() else []
    for p in house:
        yield f"house/{p.stem}", load_photo(p)
    for p in house:
        photo = load_photo(p)
        a = analyse(photo, models)
        if a.face is not None:
            cut = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
            yield f"top/{p.stem}", Photo(np.ascontiguousarray(photo.rgb[:cut]), f"{p.stem}_top")
    for p in sorted((ROOT / "samples").iterdir()):
        if p.suffix.lower() in _EXTS:
            yield f"samples/{p.stem}", load_photo(p)
    rgb = load_photo(ROOT / "samples" / "obama.jpg").rgb
    yield "obama_2mp", Photo(cv2.resize(rgb, (1224, 1632), interpolation=cv2.INTER_CUBIC), "obama_2mp")
    yield "obama_12mp", Photo(cv2.resize(rgb, (3024, 4032), interpolation=cv2.INTER_CUBIC), "obama_12mp")


def run(shared: Path) -> dict[str, np.ndarray]:
    models = get_models()
    out = {}
    for name, photo in photo_set(shared, models):
        try:
            a = analyse(photo, models)
        except PreviewError as e:
            out[f"{name}|error"] = np.array(type(e).__name__)
            continue
        out[f"{name}|labels"] = a.labels
        out[f"{name}|coverage"] = a.segmentation.hair_coverage
    return out


def compare(ref: dict, new: dict, tol: float) -> bool:
    ok = True
    names = sorted({k.split("|")[0] for k in ref} | {k.split("|")[0] for k in new})
    for n in names:
        if f"{n}|error" in ref or f"{n}|error" in new:
            a, b = ref.get(f"{n}|error"), new.get(f"{n}|error")
            same = a is not None and b is not None and str(a) == str(b)
            ok &= same
            print(f"{n:28s} error {a} -> {b} {'ok' if same else 'DIFFERENT'}")
            continue
        la, lb = ref[f"{n}|labels"], new[f"{n}|labels"]
        ca, cb = ref[f"{n}|coverage"], new[f"{n}|coverage"]
        if la.shape != lb.shape:
            print(f"{n:28s} shape {la.shape} -> {lb.shape} DIFFERENT")
            ok = False
            continue
        nd = int((la != lb).sum())
        dc = float(np.abs(ca.astype(np.float64) - cb).max())
        good = nd == 0 and dc < tol
        ok &= good
        print(f"{n:28s} {la.shape[1]:5d}x{la.shape[0]:<5d} label px differing {nd:6d}  "
              f"coverage max |diff| {dc:.2e}  {'ok' if good else 'DIFFERENT'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("save", "compare"))
    ap.add_argument("--ref", type=Path, default=Path("/tmp/same_labels.npz"))
    ap.add_argument("--shared", type=Path, default=Path("/work/shared/photos/house"))
    ap.add_argument("--tol", type=float, default=1e-4, help="largest coverage difference allowed")
    args = ap.parse_args(argv)
    new = run(args.shared)
    if args.action == "save":
        np.savez_compressed(args.ref, **new)
        print(f"saved {len({k.split('|')[0] for k in new})} photos to {args.ref}")
        return 0
    with np.load(args.ref) as z:
        ref = {k: z[k] for k in z.files}
    ok = compare(ref, new, args.tol)
    print("ALL SAME" if ok else "OUTPUTS DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
