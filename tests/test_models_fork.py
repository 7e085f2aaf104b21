"""A process forked after the models are loaded exits normally (batch workers fork)."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import os, sys
    from smp_preview.models import get_models
    get_models()  # loaded in the parent: its exit hook is inherited by the child
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # a normal exit runs the inherited hook, which must not wait for MediaPipe
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
""")


def test_a_child_forked_after_loading_the_models_exits():
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "child 0" in out.stdout
