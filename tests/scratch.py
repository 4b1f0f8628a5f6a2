"""Folders that outlive one test but not the test process (worlds built once per worker and copied)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def process_dir(prefix: str) -> Path:
    """A new folder under the temp dir, removed when the process exits: pytest's tmp_path_factory is
    per session and fixture-bound, while these worlds are cached by plain functions."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
