"""``folder:PATH``: a folder of image files; its sub-folders, when it has any, are the classes.

    PATH/cat/001.png, PATH/cat/002.jpg, PATH/dog/...   -> labels 0 = cat, 1 = dog (sorted names)
    PATH/001.png, PATH/002.png                          -> no labels

Files are found recursively inside each class folder; hidden files and files whose extension is
not an image's are ignored. Every image goes through ``images.decode_image`` (bomb check, EXIF
rotation, mode conversion, alpha on ``background``) and is resized to ``size`` x ``size`` (centre
crop then Lanczos, or ``resize="stretch"``); without ``size`` all images must share one size.
``channels`` 1 or 3; by default the majority of the files' modes (grey or colour) decides.

A file that cannot be read is counted and skipped with a warning naming the first few; when more
than ``max_bad_fraction`` of the files are bad, loading stops with a ``DataError`` listing them.
Everything is held in memory as uint8: N * C * size^2 bytes (100,000 RGB images at 64x64 is 1.2 GB);
a folder projected to need more than a quarter of the machine's memory is refused early (the loader
briefly holds two copies). ``FolderStream`` decodes the same way one file at a time, for a
``torch.utils.data.DataLoader`` over folders larger than memory.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from generativa.data.base import ArrayData, seeded_split
from generativa.data.errors import DataError
from generativa.data.images import DEFAULT_MAX_PIXELS, decode_image, fit_image, grey_from_rgb

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                              ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".ico"})
SHOW_BAD = 10  # bad files named in a warning or error
PROJECT_AFTER = 64  # images decoded before the memory a folder needs is projected
PROGRESS_FROM = 2000  # folders with more files show a progress bar (on a terminal)


def memory_budget() -> int:
    """A quarter of the physical memory, in bytes (8 GiB where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _visible(p: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in p.relative_to(root).parts)


def list_images(root: Path) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image paths, their label (-1 when unlabelled) and the class names, in a fixed sorted order."""
    if not root.is_dir():
        raise DataError(f"folder:{root}: no such folder")
    entries = sorted(p for p in root.iterdir() if _visible(p, root))
    classes = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if classes and loose:
        raise DataError(f"folder:{root}: has both image files ({loose[0].name}, ...) and sub-folders "
                        f"({classes[0].name}, ...); put every image in a class sub-folder, or none")
    if not classes:
        if not loose:
            raise DataError(f"folder:{root}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return loose, [-1] * len(loose), ()
    paths, labels = [], []
    for k, d in enumerate(classes):
        found = sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                       and _visible(p, root))
        paths += found
        labels += [k] * len(found)
    if not paths:
        raise DataError(f"folder:{root}: the sub-folders {', '.join(d.name for d in classes[:5])} hold no image files")
    return paths, labels, tuple(d.name for d in classes)


def _bad_list(bad: list[tuple[Path, str]], root: Path) -> str:
    lines = [f"  {p.relative_to(root)}: {why}" for p, why in bad[:SHOW_BAD]]
    if len(bad) > SHOW_BAD:
        lines.append(f"  ... and {len(bad) - SHOW_BAD} more")
    return "\n".join(lines)


def load_folder(
    path: str,
    *,
    size: int | None = None,
    channels: int | None = None,
    resize: Literal["crop", "stretch"] = "crop",
    background: Literal["white", "black"] = "white",
    max_bad_fraction: float = 0.01,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    test_fraction: float = 0.2,
    seed: int = 0,
    progress: bool | None = None,
) -> tuple[ArrayData, ArrayData, dict]:
    """(train, test, notes) from a folder of images; see the module docstring.

    progress: a tqdm bar on stderr; None shows it for folders of more than PROGRESS_FROM files
    when stderr is a terminal.
    """
    root = Path(path).expanduser()
    name = f"folder:{path}"
    paths, labels, class_names = list_images(root)
    arrays: list[np.ndarray] = []
    kept: list[int] = []
    grey_votes = 0
    held = 0  # bytes of decoded images, counting grey as RGB (the worst case of the channel vote)
    budget = memory_budget()
    bad: list[tuple[Path, str]] = []
    show = len(paths) > PROGRESS_FROM if progress is None else progress
    bar = tqdm(paths, desc=f"reading {root.name}", unit="img", disable=None if show else True)
    for i, p in enumerate(bar):
        try:
            a, grey = decode_image(p, max_pixels=max_pixels, background=background, draft_size=size)
            if size is not None:
                a = fit_image(a, size, resize)
        except DataError as err:
            bad.append((p, str(err).removeprefix(f"{p}: ")))
            continue
        arrays.append(a)
        kept.append(i)
        grey_votes += grey
        held += a.size * (3 if a.ndim == 2 else 1)
        if len(arrays) in (PROJECT_AFTER, len(paths)) or len(arrays) % 1000 == 0:
            projected = held / len(arrays) * len(paths)
            if projected > budget:
                h, w = a.shape[:2]
                raise DataError(f"{name}: {len(paths):,} images of about {h}x{w} would need about "
                                f"{projected / 2**30:.1f} GiB in memory, more than a quarter of this machine's "
                                f"({budget / 2**30:.1f} GiB); pass a smaller size=N, or stream the folder with "
                                "generativa.data.folder.FolderStream")
    if bad:
        fraction = len(bad) / len(paths)
        if fraction > max_bad_fraction:
            raise DataError(f"{name}: {len(bad)} of {len(paths)} image files ({fraction:.1%}) cannot be read, "
                            f"more than max_bad_fraction={max_bad_fraction}:\n{_bad_list(bad, root)}\n"
                            "Fix or remove these files, or raise max_bad_fraction to skip them")
        warnings.warn(f"{name}: skipped {len(bad)} of {len(paths)} image files that cannot be read:\n"
                      f"{_bad_list(bad, root)}", stacklevel=4)
    if not arrays:
        raise DataError(f"{name}: no readable images")
    if size is None:
        shapes = {a.shape[:2] for a in arrays}
        if len(shapes) > 1:
            examples = {}
            for j, a in zip(kept, arrays):
                examples.setdefault(a.shape[:2], paths[j].name)
            listing = ", ".join(f"{n} is {h}x{w}" for (h, w), n in list(examples.items())[:4])
            raise DataError(f"{name}: images have {len(shapes)} different sizes ({listing}); "
                            "pass size=N (data.size=N) to resize them all to N x N")
    if channels is None:
        channels = 1 if grey_votes * 2 >= len(arrays) else 3
    if channels not in (1, 3):
        raise DataError(f"{name}: channels must be 1 (grey) or 3 (RGB), got {channels}")
    for j, a in enumerate(arrays):
        if channels == 1 and a.ndim == 3:
            arrays[j] = grey_from_rgb(a)
        elif channels == 3 and a.ndim == 2:
            arrays[j] = np.repeat(a[..., None], 3, axis=2)
    x = np.stack(arrays)  # (N, H, W) or (N, H, W, 3)
    x = x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2)
    x_t = torch.from_numpy(np.ascontiguousarray(x))
    y = torch.tensor([labels[j] for j in kept], dtype=torch.int64) if class_names else None
    full = ArrayData(name, x_t, y, class_names=class_names)
    train_idx, test_idx = seeded_split(len(full), test_fraction, seed)
    notes = {"files": len(paths), "skipped": len(bad), "channels": channels}
    return full.subset(train_idx), full.subset(test_idx), notes


class FolderStream(torch.utils.data.Dataset):
    """A folder's images decoded one at a time: ``(x uint8 (C, size, size), label)`` per index.

    For folders larger than memory, through a ``torch.utils.data.DataLoader``. Files, labels and
    decoding are those of ``load_folder``; ``size`` and ``channels`` must be given (nothing reads
    the whole folder first). A file that cannot be read raises ``DataError`` naming it when its
    index is reached; the label is -1 when the folder has no class sub-folders.
    """

    def __init__(self, path: str | Path, *, size: int, channels: Literal[1, 3] = 3,
                 resize: Literal["crop", "stretch"] = "crop", background: Literal["white", "black"] = "white",
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if channels not in (1, 3):
            raise DataError(f"FolderStream: channels must be 1 or 3, got {channels}")
        if resize not in ("crop", "stretch"):
            raise DataError(f"FolderStream: resize must be crop or stretch, got {resize!r}")
        self.root = Path(path).expanduser()
        self.paths, self.labels, self.class_names = list_images(self.root)
        self.size, self.channels, self.resize = size, channels, resize
        self.background, self.max_pixels = background, max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        a, _ = decode_image(self.paths[index], max_pixels=self.max_pixels, background=self.background,
                            draft_size=self.size)
        a = fit_image(a, self.size, self.resize)
        if self.channels == 1 and a.ndim == 3:
            a = grey_from_rgb(a)
        elif self.channels == 3 and a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        x = torch.from_numpy(np.ascontiguousarray(a[None] if a.ndim == 2 else a.transpose(2, 0, 1)))
        return x, self.labels[index]
