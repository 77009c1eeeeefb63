"""Writing files so that a crash never leaves a broken one, and never through a symbolic link.

* ``write_bytes_atomic`` (and the text, JSON and safetensors forms): the data goes to a temporary
  name in the same folder (``.NAME.PID.RANDOM.tmp``), is flushed and fsynced, then renamed over the
  target and the folder fsynced. The file gets the same permissions as any other file the process
  creates (0666 minus the umask; a bare temporary file would be 0600).
* ``append_line``: appends one line, refusing a target that is a symbolic link (O_NOFOLLOW), so a
  link planted in a run folder cannot make the program write elsewhere.
* ``refuse_symlinks(path, root)``: every component of ``path`` below ``root`` must be a real file
  or folder; the run-folder writers call it before writing.
* ``stale_temporary(path)``: whether a temporary file was left by a process that no longer runs.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import torch

_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


class UnsafePathError(OSError):
    """A write would go through a symbolic link; the message names it."""


def refuse_symlinks(path: str | Path, root: str | Path | None = None) -> None:
    """Raise UnsafePathError if ``path`` or a folder between ``root`` and it is a symbolic link."""
    path = Path(path)
    parts = [path]
    if root is not None:
        root = Path(root)
        try:
            rel = path.relative_to(root)
        except ValueError:
            rel = None
        if rel is not None:
            parts = [root.joinpath(*rel.parts[:i + 1]) for i in range(len(rel.parts))]
    for p in parts:
        if p.is_symlink():
            raise UnsafePathError(f"{p} is a symbolic link; generativa does not write through links in a run "
                                  "folder (it could overwrite a file elsewhere): replace it with a real file or folder")


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def stale_temporary(path: Path) -> bool:
    """A ``.NAME.PID.RANDOM.tmp`` whose process is gone (or of an unknown form)."""
    parts = path.name.split(".")
    if len(parts) < 4 or not parts[-1] == "tmp":
        return False
    try:
        pid = int(parts[-3])
    except ValueError:
        return True
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def write_bytes_atomic(path: str | Path, data: bytes, *, root: str | Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring); ``root``: refuse links below it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    refuse_symlinks(path.parent, root)
    tmp = temporary_name(path)
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def write_text_atomic(path: str | Path, text: str, *, root: str | Path | None = None) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), root=root)


def write_json_atomic(path: str | Path, obj: Any, *, root: str | Path | None = None) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n", root=root)


def save_tensors_atomic(path: str | Path, tensors: dict[str, torch.Tensor],
                        metadata: dict[str, str] | None = None, *, root: str | Path | None = None) -> None:
    """safetensors file, written atomically. Tensors are made contiguous and moved to the CPU."""
    from safetensors.torch import save as st_save

    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    write_bytes_atomic(path, st_save(flat, metadata=metadata), root=root)


def append_line(path: str | Path, line: str, *, root: str | Path | None = None) -> None:
    """Append one line (a newline is added), never following a symbolic link."""
    path = Path(path)
    refuse_symlinks(path, root)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(str(path), flags, FILE_MODE)
    except OSError as e:
        if path.is_symlink():
            raise UnsafePathError(f"{path} is a symbolic link; generativa does not write through links in a "
                                  "run folder: replace it with a real file") from None
        raise e
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line.rstrip("\n") + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple):
        return list(obj)
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
