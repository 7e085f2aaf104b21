"""Shared fixtures: the bundled samples, the shared labelled photos, cached analyses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED_PHOTOS = ROOT.parent / "shared" / "photos" / "house"
SHARED_PHOTOS = Path(os.environ.get("SMP_SHARED_PHOTOS", SHARED_PHOTOS))  # elsewhere, e.g. from a git worktree


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def shared_photos() -> Path:
    if not (SHARED_PHOTOS / "photos").is_dir():
        pytest.skip(f"the labelled photos are not here ({SHARED_PHOTOS}/photos): they live in the "
                    "team's shared folder beside the repository, not in the repository itself")
    return SHARED_PHOTOS


@pytest.fixture(scope="session")
def models():
    from smp_preview.models import get_models

    return get_models()


_analyses: dict = {}


@pytest.fixture(scope="session")
def analysis_of(models):
    """Analyse a photo once per test session (the analysis is the expensive stage)."""
    from smp_preview.analysis import analyse
    from smp_preview.photo import load_photo

    def get(path: Path):
        key = str(path)
        if key not in _analyses:
            _analyses[key] = analyse(load_photo(path), models)
        return _analyses[key]

    return get


@pytest.fixture(autouse=True)
def _restore_main_module():
    """streamlit.testing's AppTest leaves ``sys.modules["__main__"]`` pointing at app.py; a
    process pool started later (the batch runner uses spawn) would then re-run the app script
    in every worker. Put the real main module back after each test."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


def load_corpus_module():
    """The bad-input corpus generator (tests/corpus/make_corpus.py), imported once by path.

    A plain function rather than a fixture because test modules parametrize over its cases at
    import time (``from conftest import load_corpus_module``)."""
    import importlib.util
    import sys

    if "make_corpus" not in sys.modules:
        path = Path(__file__).parent / "corpus" / "make_corpus.py"
        spec = importlib.util.spec_from_file_location("make_corpus", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_corpus"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_corpus"]
