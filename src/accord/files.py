"""Files Accord writes for a user (rejects, report and review output): refused before the work starts.

A destination that cannot be written is found out before an import commits or a report is computed,
so the user gets a sentence naming the path and the flag, never an ``OSError`` after the fact (and,
for an import, never rows stored whose refusals could not be written down).
"""

from __future__ import annotations

import os
from pathlib import Path

from accord.errors import AccordError


def check_writable(path: Path, flag: str, *, example: str = "out.txt", make_folders: bool = False) -> None:
    """Refuse ``path`` as a file to write unless it can be; ``make_folders``: missing ones will be made.

    Looks only: nothing is created, so a refused command leaves no trace on disk.
    """
    if path.is_dir():
        raise AccordError(
            f"{flag} {path} is a folder, not a file",
            hint=f"name a file inside it, e.g. {flag} {path / example}",
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        if not make_folders:
            raise AccordError(
                f"{flag} {path}: the folder {path.parent} does not exist",
                hint="create it first, or write somewhere that exists",
            )
        folder = folder.parent
    if not folder.is_dir():
        raise AccordError(
            f"{flag} {path}: {folder} is a file, so nothing can be written under it",
            hint=f"choose a path in a folder, e.g. {flag} {folder.parent / path.name}",
        )
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK | (0 if target is path else os.X_OK)):
        raise AccordError(
            f"{flag} {path}: {target} is not writable",
            hint="choose a path you can write to, or fix the permissions",
        )


def write_text(path: Path, text: str, flag: str) -> None:
    """Write ``text`` to ``path``, a failure (disk full, permissions) told as a user error."""
    check_writable(path, flag, example=path.name)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AccordError(
            f"{flag} {path}: cannot write: {exc.strerror or exc}",
            hint="choose another path, or fix the cause and run again",
        ) from None
