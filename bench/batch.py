"""Benchmark `smp-preview batch`: photos per minute on 1 and 2 local processes and on a local
Dask cluster with 2 worker processes, over the same set of photos.

    PYTHONPATH=. python bench/batch.py [--photos 12] [--repeats 3]

The set is the bundled samples repeated under new names (sizes printed). Every run renders the
whole set into an empty OUT_DIR through the command line, as a user would start it, so local runs
include starting Python, the worker processes and the models (a cold start each time). The Dask
cluster is started once and warmed with one untimed run, as a long-lived cluster would be; its
runs include the client's start and the transfer of tasks. The configurations take turns, and
medians over the repeats are printed (with the load average: the machine may be shared), as
wall-clock photos per minute and as photos per CPU-minute (CPU time of the command and its
worker processes, or of the Dask workers plus the command: what the work costs whatever else
the machine is doing).
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _cpu_s(pids: list[int]) -> float:
    import psutil

    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)


def run_cli(in_dir: Path, out_dir: Path, *extra: str, worker_pids: list[int] = ()) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one batch: the command and its worker processes, or the
    Dask worker processes ``worker_pids``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r0, c0 = resource.getrusage(resource.RUSAGE_CHILDREN), _cpu_s(worker_pids)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "smp_preview.cli", "batch", str(in_dir), str(out_dir), "-q", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    r1, c1 = resource.getrusage(resource.RUSAGE_CHILDREN), _cpu_s(worker_pids)
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) + (c1 - c0)


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
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        print(f"{len(made)} photos, {min(mp):.2f}-{max(mp):.2f} MP (median {statistics.median(mp):.2f} MP), "
              f"{len(os.sched_getaffinity(0))} CPUs, {args.repeats} repeats")

        from distributed import Client, LocalCluster

        os.environ["PYTHONPATH"] = str(ROOT)  # the cluster's worker processes import this checkout
        configs = {
            "local, 1 process": ["--workers", "1"],
            "local, 2 processes": ["--workers", "2"],
        }
        results: dict[str, list[tuple[float, float]]] = {label: [] for label in configs}
        dask_label = "dask LocalCluster, 2 workers"
        with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
              Client(cluster) as client):
            pids = list(client.run(os.getpid).values())
            configs[dask_label] = ["--scheduler", cluster.scheduler_address]
            results[dask_label] = []
            run_cli(in_dir, tmp / "warm", *configs[dask_label])  # models loaded on the workers
            k = 0
            for _ in range(args.repeats):  # round robin, so a change in the machine's load hits all alike
                for label, extra in configs.items():
                    k += 1
                    results[label].append(run_cli(in_dir, tmp / f"out{k}", *extra,
                                                  worker_pids=pids if label == dask_label else []))
        print(f"load average after: {os.getloadavg()[0]:.1f}")

        print(f"{'configuration':30s} {'wall s':>7s} {'photos/min':>10s} {'CPU s':>6s} {'photos/CPU-min':>14s}"
              "   all runs (wall s)")
        for label, runs in results.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"{label:30s} {wall:7.2f} {60 * len(made) / wall:10.1f} {cpu:6.2f} {60 * len(made) / cpu:14.1f}   "
                  f"{', '.join(f'{w:.2f}' for w, _ in runs)}")


if __name__ == "__main__":
    main()
