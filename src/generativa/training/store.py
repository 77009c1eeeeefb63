"""Checkpoints as atomic units: a folder per checkpoint and a commit record written last.

    RUN/
      model.safetensors, model.json     copies of the newest committed checkpoint's two files
      state/
        COMMITTED                       the names of the newest and the previous committed checkpoint
        step_00000120/                  one complete checkpoint:
          model.safetensors  model.json  state.safetensors  state.json
          manifest.json                 each file's size and SHA-256, written last

Writing a checkpoint (``commit``):

1. every file goes into a fresh hidden folder ``state/.partial-step_..``, each written, flushed and
   fsynced, then ``manifest.json`` with each file's size and SHA-256; then the folder is fsynced;
2. the folder is renamed to its final name (``step_00000120``; a rename is atomic);
3. ``COMMITTED`` is replaced atomically (temporary file, fsync, rename, fsync of ``state/``): this is
   the commit. Before it, a crash leaves the previous checkpoint in force; after it, the new one;
4. the run's own ``model.safetensors`` / ``model.json`` are replaced by copies of the new ones (each
   copied to a temporary name and renamed into place) for ``generativa.load`` and the other verbs;
   copies, not links, so that editing them by hand can never damage a checkpoint;
5. every checkpoint folder except the newest two committed ones, and any partial folder or
   temporary file left by a crash, is removed.

Reading (``resolve``) follows ``COMMITTED`` only: a folder that no commit names is never read; its
files must match the manifest (a file changed by hand or by a faulty disk is refused, naming it);
when the newest committed folder is damaged the previous one is used and the reason reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from generativa.io.atomic import fsync_dir, stale_temporary, write_bytes_atomic, write_text_atomic

STATE = "state"
COMMITTED = "COMMITTED"
PARTIAL_PREFIX = ".partial-"
ROOT_FILES = ("model.safetensors", "model.json")
CHECKPOINT_FILES = ("model.safetensors", "model.json", "state.safetensors", "state.json")
MANIFEST = "manifest.json"


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or loaded safely; the message says what was wrong."""


def state_dir(run: Path) -> Path:
    return Path(run) / STATE


def committed_names(run: Path) -> list[str]:
    """The committed checkpoint folders, newest first (empty when nothing was committed)."""
    path = state_dir(run) / COMMITTED
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} cannot be read ({e}); the run's commit record is damaged") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    for name in names:
        if "/" in name or "\\" in name or name.startswith(".") or not name.startswith("step_"):
            raise CheckpointError(f"{path} names {name!r}, which is not a checkpoint folder (step_NNNNNNNN); "
                                  "the commit record was altered: restore it or start the run again")
    return names


def latest(run: Path) -> Path | None:
    """The newest committed checkpoint folder, or None."""
    names = committed_names(run)
    return state_dir(run) / names[0] if names else None


def resolve(run: Path, check: Callable[[Path], None] | None = None) -> tuple[Path, list[str]]:
    """The newest committed checkpoint that passes ``check`` (which raises CheckpointError), and notes
    on any newer one that did not. Raises when none is usable."""
    names = committed_names(run)
    if not names:
        raise CheckpointError(
            f"{run} has no committed checkpoint (no {STATE}/{COMMITTED}): the run stopped before its first "
            "checkpoint was complete, so it cannot be resumed; train it again"
        )
    notes: list[str] = []
    for name in names:
        folder = state_dir(run) / name
        try:
            missing = [f for f in (*CHECKPOINT_FILES, MANIFEST) if not (folder / f).is_file()]
            if missing:
                raise CheckpointError(f"{folder} lacks {', '.join(missing)}")
            verify_manifest(folder)
            if check is not None:
                check(folder)
            return folder, notes
        except CheckpointError as e:
            notes.append(f"checkpoint {name} is not usable ({e})")
    raise CheckpointError(f"{run}: no committed checkpoint is usable: " + "; ".join(notes))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> None:
    """Size and SHA-256 of every checkpoint file, written last into the checkpoint folder."""
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": _digest(folder / name)}
             for name in CHECKPOINT_FILES}
    write_text_atomic(folder / MANIFEST, json.dumps({"files": files}, indent=2) + "\n")


def verify_manifest(folder: Path) -> None:
    """Every checkpoint file as the manifest recorded it, or a CheckpointError naming the one that is not."""
    path = folder / MANIFEST
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        assert isinstance(files, dict)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AssertionError):
        raise CheckpointError(f"{path} cannot be read; the checkpoint is damaged") from None
    for name in CHECKPOINT_FILES:
        entry = files.get(name)
        if not isinstance(entry, dict):
            raise CheckpointError(f"{path} does not list {name}; the checkpoint is damaged")
        target = folder / name
        if target.stat().st_size != entry.get("bytes") or _digest(target) != entry.get("sha256"):
            raise CheckpointError(f"{target} is not the file that was saved (its size or SHA-256 differs from "
                                  f"{MANIFEST}): it was changed after the checkpoint was written")


def folder_name(step: int, taken: set[str]) -> str:
    base = f"step_{step:08d}"
    name, i = base, 1
    while name in taken:
        name = f"{base}-{i}"
        i += 1
    return name


def commit(run: Path, step: int, write: Callable[[Path], None]) -> Path:
    """Write one checkpoint through ``write(folder)`` and commit it (see the module docstring)."""
    run = Path(run)
    root = state_dir(run)
    root.mkdir(parents=True, exist_ok=True)
    previous = committed_names(run)
    existing = {p.name for p in root.iterdir()}
    name = folder_name(step, existing)
    partial = root / f"{PARTIAL_PREFIX}{name}.{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        write(partial)
        write_manifest(partial)
        fsync_dir(partial)
        final = root / name
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    fsync_dir(root)
    write_text_atomic(root / COMMITTED, "\n".join([name, *previous[:1]]) + "\n")  # the commit
    publish(run, final)
    prune(run)
    return final


def publish(run: Path, folder: Path) -> None:
    """Replace RUN/model.safetensors and RUN/model.json by copies of ``folder``'s (each atomically)."""
    for fname in ROOT_FILES:
        write_bytes_atomic(Path(run) / fname, (folder / fname).read_bytes(), root=run)


def prune(run: Path) -> list[str]:
    """Remove checkpoint folders no commit names, partial folders and temporary files; return their names."""
    root = state_dir(run)
    if not root.is_dir():
        return []
    keep = set(committed_names(run))
    removed = []
    for p in root.iterdir():
        stale_partial = p.name.startswith(PARTIAL_PREFIX) and not p.name.endswith(f".{os.getpid()}")
        uncommitted = p.is_dir() and p.name.startswith("step_") and p.name not in keep
        temporary = p.is_file() and stale_temporary(p)
        if stale_partial or uncommitted or temporary:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            removed.append(p.name)
    for p in Path(run).iterdir():  # temporaries of crashed atomic writes in the run folder itself
        if p.is_file() and stale_temporary(p):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
            removed.append(p.name)
    return removed
