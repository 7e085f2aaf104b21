"""smp-preview: preview scalp micropigmentation (SMP) on a client photo.

The pipeline, one module per stage (see ``docs`` in the README):

photo -> analysis (face, segment) -> design (hairline, zones) -> stipple -> pigment -> compose
"""

__version__ = "0.1.0"
