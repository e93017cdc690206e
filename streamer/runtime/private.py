"""Files only this user may read: folders 0700, files 0600, whatever the umask (the data folder holds camera
passwords, uploads and the database)."""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed; the folder itself ends 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing; it ends 0600 either way."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path, mode: str = "wb"):
    """``open(path, mode)`` for writing, the file created 0600 (never readable by others, even for a moment)."""
    flags = os.O_CREAT | os.O_WRONLY | (os.O_TRUNC if "w" in mode else os.O_APPEND)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode)
