"""Benchmark `smp-preview batch`: photos per minute on 1 and 2 local processes and on a local
Dask cluster with 2 worker processes, over the same set of photos.

    PYTHONPATH=. python bench/batch.py [--photos 12] [--repeats 3]

The set is the bundled samples repeated under new names (sizes printed). Every run renders the
whole set into an empty OUT_DIR through the command line, as a user would start it, so local runs
include starting Python, the worker processes and the models (a cold start each time). The Dask
cluster is started once and warmed with one untimed run, as a long-lived cluster would be; its
runs include the client's start and the transfer of tasks. Medians over the repeats are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_set(folder: Path, n: int) -> list[tuple[str, tuple[int, int]]]:
    samples = sorted((ROOT / "samples").glob("*.jpg"))
    made = []
    for i in range(n):
        src = samples[i % len(samples)]
        dst = folder / f"photo_{i:02d}_{src.stem}.jpg"
        shutil.copy(src, dst)
        made.append((dst.name, Image.open(dst).size))
    return made


def run_cli(in_dir: Path, out_dir: Path, *extra: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "smp_preview.cli", "batch", str(in_dir), str(out_dir), "-q", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="smp-bench-") as tmp:
        tmp = Path(tmp)
        in_dir = tmp / "in"
        in_dir.mkdir()
        made = make_set(in_dir, args.photos)
        mp = [w * h / 1e6 for _, (w, h) in made]
        print(f"{len(made)} photos, {min(mp):.2f}-{max(mp):.2f} MP (median {statistics.median(mp):.2f} MP), "
              f"{len(os.sched_getaffinity(0))} CPUs, {args.repeats} repeats")

        results: dict[str, list[float]] = {}
        k = 0

        def timed(label: str, *extra: str) -> None:
            nonlocal k
            for _ in range(args.repeats):
                k += 1
                results.setdefault(label, []).append(run_cli(in_dir, tmp / f"out{k}", *extra))

        timed("local, 1 process", "--workers", "1")
        timed("local, 2 processes", "--workers", "2")

        from distributed import LocalCluster

        os.environ["PYTHONPATH"] = str(ROOT)  # the cluster's worker processes import this checkout
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            run_cli(in_dir, tmp / "warm", "--scheduler", cluster.scheduler_address)  # models loaded on the workers
            timed("dask LocalCluster, 2 workers", "--scheduler", cluster.scheduler_address)

        print(f"{'configuration':32s} {'median s':>9s} {'photos/min':>11s}   all runs (s)")
        for label, walls in results.items():
            med = statistics.median(walls)
            print(f"{label:32s} {med:9.2f} {60 * len(made) / med:11.1f}   {', '.join(f'{w:.2f}' for w in walls)}")


if __name__ == "__main__":
    main()
