"""``faces``: procedural RGB portraits with their generative factors and a caption each.

A stand-in for CelebA-style face data (Liu et al. 2015, arXiv:1411.7766) that needs no download,
renders in seconds and knows its ground truth: every image is a pure function of ten discrete
factors, so latent traversals (head pose, smile), conditional models (captions, labels),
disentanglement metrics and debiasing experiments (a skin-tone-skewed training set, after
Amini et al. 2019, "Uncovering and mitigating algorithmic bias through learned latent structure")
can be checked against it.

    factor        values                                                         index range
    face_shape    oval, round, long, square                                      0..3
    skin_tone     very light, light, medium, tan, brown, dark                    0..5
    hair_colour   black, dark brown, brown, blond, red, grey                     0..5
    hair_style    bald, short, long, bangs, curly                                0..4
    eye_colour    brown, blue, green                                             0..2
    smile         frowning, neutral, smiling, grinning                           0..3
    glasses       none, round, square                                            0..2
    beard         none, moustache, beard                                         0..2
    yaw           left, slightly left, forward, slightly right, right            0..4
    background    grey, blue, green, yellow, pink, purple                        0..5

4 * 6 * 6 * 5 * 3 * 4 * 3 * 3 * 5 * 6 = 2,332,800 combinations. Skin tones are six of the ten
swatches of the Monk Skin Tone Scale (Monk 2019; MST 2, 4, 5, 6, 7, 9). Hair colour also colours
the eyebrows, moustache and beard, so it shows on a bald head too. ``yaw`` turns the head about
the vertical axis by -0.5, -0.25, 0, 0.25, 0.5 radians (about 29 degrees at most); "left" means
the face looks towards the image's left edge.

Rendering (``render_faces``) paints layers back to front: background, long or curly hair behind
the head, shoulders and neck, ears, the face, hair, beard, nose, mouth, eyes, eyebrows, glasses.
Each layer is a coverage mask from a signed distance (ellipses, parabolic bands, rings),
evaluated on a ``supersample x supersample`` grid of sub-pixel points with a linear ramp one
sub-pixel wide (anti-aliasing), alpha-composited and averaged down to pixels. The head is lit
as an ellipsoid (Lambert shading, light from the upper left). Yaw places each facial feature at
its angle on the head: a feature at angle phi from the front sits at x = centre + R sin(phi + yaw)
and is foreshortened by cos(phi + yaw), so the features slide towards one side, the far eye
narrows, one ear disappears and more hair shows on the other side. Layers are only evaluated in
the box that holds them for the images of a chunk. Same factors and size -> the same pixels, in
any batch or order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from generativa.data.base import ArrayData, DataSplits
from generativa.data.errors import DataError
from generativa.data.factors import FactorGrid

FACTOR_NAMES: tuple[str, ...] = ("face_shape", "skin_tone", "hair_colour", "hair_style", "eye_colour", "smile",
                                 "glasses", "beard", "yaw", "background")
VALUE_NAMES: dict[str, tuple[str, ...]] = {
    "face_shape": ("oval", "round", "long", "square"),
    "skin_tone": ("very light", "light", "medium", "tan", "brown", "dark"),
    "hair_colour": ("black", "dark brown", "brown", "blond", "red", "grey"),
    "hair_style": ("bald", "short", "long", "bangs", "curly"),
    "eye_colour": ("brown", "blue", "green"),
    "smile": ("frowning", "neutral", "smiling", "grinning"),
    "glasses": ("none", "round", "square"),
    "beard": ("none", "moustache", "beard"),
    "yaw": ("left", "slightly left", "forward", "slightly right", "right"),
    "background": ("grey", "blue", "green", "yellow", "pink", "purple"),
}
FACTOR_SIZES: tuple[int, ...] = tuple(len(VALUE_NAMES[k]) for k in FACTOR_NAMES)
GRID = FactorGrid("faces", FACTOR_NAMES, FACTOR_SIZES)
NUM_COMBINATIONS = GRID.num_combinations  # 2,332,800
DEFAULT_LABEL = "smile"

MIN_SIZE, MAX_SIZE = 32, 128
SUBSET_BELOW = 2  # a layer shown on fewer than 1 / SUBSET_BELOW of a chunk's faces is painted on those alone

# --- appearance tables (sRGB 0..255) ---------------------------------------------------------------

# Monk Skin Tone Scale swatches MST 2, 4, 5, 6, 7, 9 (Monk 2019, skintone.google).
SKIN = torch.tensor([[243, 231, 219], [234, 218, 186], [215, 189, 150], [160, 126, 86], [130, 92, 67],
                     [58, 49, 42]], dtype=torch.float32)
HAIR = torch.tensor([[28, 24, 24], [66, 42, 28], [116, 74, 40], [222, 188, 112], [168, 68, 32],
                     [178, 176, 172]], dtype=torch.float32)
IRIS = torch.tensor([[96, 58, 30], [70, 130, 200], [70, 150, 80]], dtype=torch.float32)
BACKGROUND = torch.tensor([[196, 198, 200], [128, 170, 222], [142, 194, 138], [238, 214, 124], [236, 164, 186],
                           [168, 136, 210]], dtype=torch.float32)
SHIRT = torch.tensor([58, 66, 92], dtype=torch.float32)
LASH = torch.tensor([38, 26, 22], dtype=torch.float32)
SCLERA = torch.tensor([246, 244, 238], dtype=torch.float32)
MOUTH = torch.tensor([96, 24, 34], dtype=torch.float32)
TEETH = torch.tensor([250, 248, 240], dtype=torch.float32)
LIP = torch.tensor([190, 80, 90], dtype=torch.float32)  # blended with the skin tone
FRAME = torch.tensor([24, 24, 30], dtype=torch.float32)
LENS = torch.tensor([210, 228, 255], dtype=torch.float32)

# --- geometry, in image units (the image is the unit square, x right, y down) -----------------------
# Cartoon proportions, chosen by eye so that every feature is legible at 32x32: larger eyes and a
# wider mouth than a real face; the other colours above likewise (they are not measured).

CENTRE_X, CENTRE_Y = 0.5, 0.47  # head centre at yaw 0
# Face half-width, half-height, and 1 where the jaw is square.
FACE = torch.tensor([[0.25, 0.31, 0.0], [0.275, 0.29, 0.0], [0.225, 0.33, 0.0], [0.255, 0.3, 1.0]])
YAW = torch.tensor([-0.5, -0.25, 0.0, 0.25, 0.5])  # radians, positive = looking to the image's right
EYE_ANGLE = 0.42  # radians from the front of the head to each eye
EAR_ANGLE = math.pi / 2 + 0.12  # ears sit a little behind the widest point of the head
SMILE_CURVE = torch.tensor([-0.036, 0.0, 0.046, 0.0])  # rise of the mouth corners (image units; grin: open)
SMILE_WIDTH = torch.tensor([0.9, 0.95, 1.15, 1.1])  # mouth width, relative: a smile widens the mouth
LIGHT = (-0.38, -0.5, 0.78)  # direction towards the light (x right, y down, z towards the viewer)


def check_factors(factors: Tensor | Sequence[Sequence[int]]) -> Tensor:
    """Validate factor indices: int64 (N, 10), each column within its range."""
    return GRID.check(factors)


def flat_index(factors: Tensor) -> Tensor:
    """Factor indices (N, 10) -> position in the full grid (N,), C order."""
    return GRID.flat_index(factors)


def factors_from_flat(index: Tensor) -> Tensor:
    """Position in the full grid (N,) -> factor indices (N, 10) (inverse of ``flat_index``)."""
    return GRID.from_flat(index)


def sample_factors(n: int, *, generator: torch.Generator | None = None,
                   weights: Mapping[str, Sequence[float] | Tensor] | None = None,
                   fixed: Mapping[str, int] | None = None) -> Tensor:
    """Draw ``n`` factor combinations (N, 10) int64, each factor independently (see ``FactorGrid.sample``).

    E.g. ``weights={"skin_tone": [8, 8, 1, 1, 1, 1]}`` for a training set with few darker faces,
    ``fixed={"smile": 2}`` for smiling faces only.
    """
    return GRID.sample(n, generator=generator, weights=weights, fixed=fixed)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def caption(row: Sequence[int]) -> str:
    """One caption from one row of factor indices, e.g. "a smiling oval face with long brown hair, dark
    skin, blue eyes, round glasses and a beard, turned left, on a blue background"."""
    v = {k: VALUE_NAMES[k][int(i)] for k, i in zip(FACTOR_NAMES, row)}
    hair = {"bald": f"a bald head, {v['hair_colour']} eyebrows", "short": f"short {v['hair_colour']} hair",
            "long": f"long {v['hair_colour']} hair", "bangs": f"{v['hair_colour']} hair with bangs",
            "curly": f"curly {v['hair_colour']} hair"}[v["hair_style"]]
    parts = [hair, f"{v['skin_tone']} skin", f"{v['eye_colour']} eyes"]
    if v["glasses"] != "none":
        parts.append(f"{v['glasses']} glasses")
    if v["beard"] != "none":
        parts.append(f"a {v['beard']}")
    pose = "facing forward" if v["yaw"] == "forward" else f"turned {v['yaw']}"
    return f"a {v['smile']} {v['face_shape']} face with {_join(parts)}, {pose}, on a {v['background']} background"


def captions(factors: Tensor) -> tuple[str, ...]:
    """One caption per row of factor indices (N, 10); see ``caption``."""
    return tuple(caption(row) for row in check_factors(factors).tolist())


def check_size(size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise DataError(f"faces size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}; "
                        "pass e.g. size=32 or size=64 (data.size=64 on the command line)")
    return size


# --- the painter ------------------------------------------------------------------------------------


class _Canvas:
    """A batch of images on a fine grid, painted layer by layer within boxes.

    img: (B, 3, F, F) float in 0..255, F = size * supersample; ``coords`` are the sub-pixel
    centres in image units, ``ramp`` one sub-pixel: the width of every anti-aliased edge.
    """

    def __init__(self, b: int, size: int, supersample: int) -> None:
        self.f = size * supersample
        self.coords = (torch.arange(self.f, dtype=torch.float32) + 0.5) / self.f
        self.ramp = 1.0 / self.f
        self.img = torch.empty(b, 3, self.f, self.f)
        self.index: Tensor | None = None  # paint only these images (rows of a subset), or
        self.where: Tensor | None = None  # paint all, with this 0/1 weight per image (B,)

    def box(self, x0: Tensor | float, x1: Tensor | float, y0: Tensor | float, y1: Tensor | float):
        """The grid rows and columns covering [x0, x1] x [y0, y1] for every image (extents over the batch).

        Returns (rows, cols, X (1, 1, w), Y (1, h, 1)), or None when the box is outside the image.
        """
        lo = lambda t: float(t.min()) if isinstance(t, Tensor) else float(t)  # noqa: E731
        hi = lambda t: float(t.max()) if isinstance(t, Tensor) else float(t)  # noqa: E731
        c0, c1 = max(0, math.floor(lo(x0) * self.f) - 1), min(self.f, math.ceil(hi(x1) * self.f) + 1)
        r0, r1 = max(0, math.floor(lo(y0) * self.f) - 1), min(self.f, math.ceil(hi(y1) * self.f) + 1)
        if c1 <= c0 or r1 <= r0:
            return None
        rows, cols = slice(r0, r1), slice(c0, c1)
        return rows, cols, self.coords[cols].view(1, 1, -1), self.coords[rows].view(1, -1, 1)

    def cover(self, d: Tensor, alpha: float = 1.0) -> Tensor:
        """Signed distance (image units, negative inside; overwritten) -> alpha * coverage, a one-sub-pixel ramp."""
        return d.mul_(-alpha / self.ramp).add_(0.5 * alpha).clamp_(0.0, alpha)

    def ellipse(self, dx: Tensor, dy: Tensor, rx: Tensor, ry: Tensor, alpha: float = 1.0) -> Tensor:
        """alpha * coverage of axis-aligned ellipses: dx (B, 1, w), dy (B, h, 1), radii (B, 1, 1) -> (B, h, w).

        The distance is approximated by (|p / r| - 1) * min(r): exact for circles and exact in sign
        elsewhere, which is what the ramp needs: alpha * clamp(0.5 + s - s |p / r|), s = min(r) / ramp.
        """
        k = ((dx / rx) ** 2 + (dy / ry) ** 2).sqrt_()
        s = torch.minimum(rx, ry) * (alpha / self.ramp)
        return k.mul_(-s).add_(s + 0.5 * alpha).clamp_(0.0, alpha)

    def paint(self, box, cover: Tensor, colour: Tensor) -> None:
        """Composite ``colour`` ((B, 3) flat, or (B, 3, h, w)) over the box with alpha ``cover`` (B, h, w).

        Within ``only`` the B rows are the selected images (see ``only``).
        """
        rows, cols = box[0], box[1]
        if colour.dim() == 2:
            colour = colour.view(-1, 3, 1, 1)
        if self.where is not None:
            cover = cover * _col(self.where)
        index = self.index
        region = self.img[:, :, rows, cols] if index is None else self.img[index, :, rows, cols]
        region.add_((colour - region).mul_(cover.unsqueeze(1)))  # region + cover * (colour - region)
        if index is not None:
            self.img[index, :, rows, cols] = region

    @contextmanager
    def only(self, mask: Tensor, heads: _Heads):
        """Paint the images where ``mask`` (B,) holds: yields the parameters to paint them with, or None.

        A rare layer is computed for those images alone (gathered and scattered back); a common one
        for all images, its coverage weighted by the mask, which is cheaper than the gather.
        """
        count = int(mask.sum())
        if count == 0:
            yield None
        elif count * SUBSET_BELOW < len(mask):
            self.index = mask.nonzero().squeeze(1)
            try:
                yield heads.take(self.index)
            finally:
                self.index = None
        else:
            self.where = mask.float()
            try:
                yield heads
            finally:
                self.where = None


def _col(t: Tensor) -> Tensor:
    """(B,) -> (B, 1, 1), to broadcast over a box."""
    return t.view(-1, 1, 1)


def _cos12(dx: Tensor, dy: Tensor) -> Tensor:
    """cos(12 theta) of the angle theta of (dx, dy), by doubling angles: products and sums only."""
    r = (dx * dx + dy * dy).sqrt_().clamp_(min=1e-6)
    c, s = dx / r, dy / r
    c2, s2 = c * c - s * s, 2.0 * c * s
    c4, s4 = c2 * c2 - s2 * s2, 2.0 * c2 * s2
    c8, s8 = c4 * c4 - s4 * s4, 2.0 * c4 * s4
    return c8 * c4 - s8 * s4


def _band(dx: Tensor, dy: Tensor, half: Tensor, rise: Tensor, thick: Tensor) -> Tensor:
    """Signed distance to a parabolic band: centre line y = -rise * t^2 (t = dx / half, y down, so
    rise > 0 lifts the ends), half thickness ``thick`` tapering to 40% at the ends, |t| <= 1.
    The distance is measured vertically, close to the true one for the gentle curves of brows,
    lips and moustaches."""
    t2 = (dx / half) ** 2
    across = (dy + rise * t2).abs_() - thick * (1.0 - 0.6 * t2)
    return torch.maximum(across, dx.abs() - half)


class _Heads:
    """Per-image parameters of a batch of faces (each a (B,) or (B, 3) tensor) and where things sit."""

    def __init__(self, f: Tensor) -> None:
        shape, skin, hair, style, eye, smile, glasses, beard, yaw, bg = f.unbind(1)
        self.style, self.smile, self.glasses, self.beard = style, smile, glasses, beard
        self.skin, self.hair, self.iris, self.bg = SKIN[skin], HAIR[hair], IRIS[eye], BACKGROUND[bg]
        self.a, self.bh, self.jaw = FACE[shape].unbind(1)  # face half-width, half-height, jaw squareness
        self.yaw = yaw
        self.sin, self.cos = torch.sin(YAW)[yaw], torch.cos(YAW)[yaw]
        self.cx = CENTRE_X + 0.2 * self.a * self.sin  # the silhouette shifts a little towards the gaze
        self.cy = torch.full_like(self.a, CENTRE_Y)
        self.width = self.a * (1.0 - 0.05 * self.sin.abs())  # and narrows a little
        self.one = torch.ones_like(self.a)

    def take(self, index: Tensor) -> _Heads:
        """The same parameters for the images ``index`` only."""
        out = object.__new__(_Heads)
        out.__dict__ = {k: v[index] for k, v in self.__dict__.items()}
        return out

    def on_head(self, phi: float) -> tuple[Tensor, Tensor]:
        """x of a feature at angle phi from the front of the head, and its foreshortening cos(phi + yaw)."""
        angle = phi + YAW  # the 5 yaw values: computed the same way whatever the batch
        return CENTRE_X + self.a * torch.sin(angle)[self.yaw], torch.cos(angle)[self.yaw].clamp(min=0.05)

    def face(self, X: Tensor, Y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Signed distance to the face outline, and face coordinates u, v (-1..1 across it).

        An ellipse; for the square shape the lower half goes 55% of the way to the superellipse
        |u|^4 + |v|^4 = 1 (a squarer jaw).
        """
        u, v = (X - _col(self.cx)) / _col(self.width), (Y - _col(self.cy)) / _col(self.bh)
        u2, v2 = u * u, v * v
        k = (u2 + v2).sqrt()
        square = _col(self.jaw) * (v > 0)  # (B, h, 1)
        if bool(self.jaw.any()):
            k4 = (u2 * u2 + v2 * v2).sqrt_().sqrt_()
            k = k + square * (0.55 * (k4 - k))
        return (k - 1.0) * _col(torch.minimum(self.width, self.bh)), u, v


def render_faces(factors: Tensor, *, size: int = 32, supersample: int = 2, chunk: int | None = None) -> Tensor:
    """Render faces from factor indices (N, 10) -> uint8 RGB images (N, 3, size, size) on the CPU.

    Deterministic: the pixels depend only on the factors, ``size`` and ``supersample``, not on
    the batch, the order or ``chunk`` (faces painted at a time; default 256 at 32x32, fewer for
    larger sizes). Only correctly rounded arithmetic touches pixels (no fused multiply-adds or
    vectorised transcendental functions, whose last bit can depend on a tensor's length).
    """
    check_size(size)
    if supersample < 1:
        raise DataError(f"supersample must be >= 1, got {supersample}")
    chunk = chunk or max(16, 256 * 32 * 32 // (size * size))
    factors = check_factors(factors).cpu()
    out = torch.empty(len(factors), 3, size, size, dtype=torch.uint8)
    for start in range(0, len(factors), chunk):
        f = factors[start:start + chunk]
        canvas = _Canvas(len(f), size, supersample)
        _paint(canvas, _Heads(f))
        out[start:start + chunk] = _downsample(canvas.img, supersample).round_().clamp_(0, 255).to(torch.uint8)
    return out


def _downsample(img: Tensor, k: int) -> Tensor:
    """(B, 3, F, F) -> (B, 3, F / k, F / k): the mean of each k x k block of sub-pixels, summed in a fixed order."""
    if k == 1:
        return img
    out = img[:, :, 0::k, 0::k].clone()
    for i in range(k):
        for j in range(k):
            if i or j:
                out.add_(img[:, :, i::k, j::k])
    return out.mul_(1.0 / (k * k))


def _paint(cv: _Canvas, h: _Heads) -> None:
    """Paint every layer, back to front."""
    _background(cv, h)
    for mask, layer in ((h.style == 2, _long_hair), (h.style == 4, _curly_hair)):
        with cv.only(mask, h) as some:
            if some is not None:
                layer(cv, some)
    _shoulders(cv, h)
    _ears(cv, h)
    _face(cv, h)
    for mask, layer in ((h.style != 0, _hair), (h.beard == 2, _beard), (h.beard != 0, _moustache)):
        with cv.only(mask, h) as some:
            if some is not None:
                layer(cv, some)
    _nose(cv, h)
    for mask, layer in ((h.smile != 3, _lips), (h.smile == 3, _grin)):
        with cv.only(mask, h) as some:
            if some is not None:
                layer(cv, some)
    _eyes(cv, h)
    with cv.only(h.glasses != 0, h) as some:
        if some is not None:
            _glasses(cv, some)


def _background(cv: _Canvas, h: _Heads) -> None:
    """The background colour, a little lighter at the top."""
    shade = (1.06 - 0.14 * cv.coords).view(1, 1, -1, 1)  # (1, 1, F, 1)
    cv.img.copy_(h.bg.view(-1, 3, 1, 1) * shade)


def _long_hair(cv: _Canvas, h: _Heads) -> None:
    """Long hair behind the head: a curtain to the shoulders, rounded on top."""
    reach = 1.26 * h.a + 0.06  # half-width at the lower edge
    box = cv.box(h.cx - reach, h.cx + reach, h.cy - 1.2 * h.bh, h.cy + 1.2 * h.bh)
    _, _, X, Y = box
    dx, dy = X - _col(h.cx), Y - _col(h.cy)
    half = _col(1.26 * h.a) + 0.05 * (dy / _col(h.bh)).clamp(min=0.0)  # widening towards the shoulders
    curtain = torch.maximum(dx.abs() - half, dy - _col(1.2 * h.bh))
    k = ((dx / _col(1.26 * h.a)) ** 2 + ((dy + _col(0.05 * h.bh)) / _col(1.12 * h.bh)) ** 2).sqrt_()
    top = (k - 1.0) * _col(1.12 * h.a)
    d = torch.where(dy < _col(-0.05 * h.bh), top, curtain)
    cv.paint(box, cv.cover(d), h.hair * 0.8)


def _curly_hair(cv: _Canvas, h: _Heads) -> None:
    """Curly hair: a large mass behind the head whose edge is a ring of curls."""
    cx, cy, r = CENTRE_X + 0.1 * h.a * h.sin, h.cy - 0.3 * h.bh, 1.42 * h.a
    box = cv.box(cx - 1.1 * r, cx + 1.1 * r, cy - 1.1 * r, cy + 1.1 * r)
    _, _, X, Y = box
    dx, dy = X - _col(cx), Y - _col(cy)
    radius = _col(r) * (1.0 + 0.06 * _cos12(dx, dy))
    cv.paint(box, cv.cover((dx**2 + dy**2).sqrt_() - radius), h.hair * 0.85)


def _shoulders(cv: _Canvas, h: _Heads) -> None:
    """Shoulders in a plain shirt, and the neck."""
    box = cv.box(0.0, 1.0, h.cy + 0.5 * h.bh, 1.0)
    _, _, X, Y = box
    b = len(h.a)
    r = torch.ones(1, 1, 1)
    cv.paint(box, cv.ellipse(X - 0.5, Y - 1.14, 0.46 * r, 0.26 * r).expand(b, -1, -1), SHIRT.expand(b, 3))
    neck = torch.maximum((X - _col(CENTRE_X + 0.1 * h.a * h.sin)).abs() - _col(0.45 * h.a),
                         _col(h.cy + 0.5 * h.bh) - Y)
    neck = torch.maximum(neck, Y - 0.9 + 0.03 * ((X - 0.5) / 0.1) ** 2)  # the collar
    cv.paint(box, cv.cover(neck), h.skin * 0.74)


def _ears(cv: _Canvas, h: _Heads) -> None:
    """Ears at +-EAR_ANGLE around the head; the one turning away slides under the face."""
    for side in (-1.0, 1.0):
        ex, _ = h.on_head(side * EAR_ANGLE)
        ear_w = 0.032 + 0.022 * (-side * h.sin).clamp(min=0.0)  # the ear turning towards us looks wider
        box = cv.box(ex - 0.07, ex + 0.07, h.cy - 0.08, h.cy + 0.1)
        _, _, X, Y = box
        dx, dy = X - _col(ex), Y - _col(h.cy + 0.012)
        cv.paint(box, cv.ellipse(dx, dy, _col(ear_w), _col(0.064 * h.one)), h.skin * 0.88)
        cv.paint(box, cv.ellipse(dx - 0.004 * side, dy, _col(0.45 * ear_w), _col(0.036 * h.one), 0.7), h.skin * 0.64)


def _face(cv: _Canvas, h: _Heads) -> None:
    """The face, lit as an ellipsoid (Lambert) from the upper left."""
    box = cv.box(h.cx - h.width, h.cx + h.width, h.cy - h.bh, h.cy + h.bh)
    _, _, X, Y = box
    d, u, v = h.face(X, Y)
    nz = (1.0 - u * u - v * v).clamp_(min=0.0).sqrt_()
    lx, ly, lz = LIGHT
    norm = math.sqrt(lx * lx + ly * ly + lz * lz)
    lambert = (u * (lx / norm) + v * (ly / norm) + nz * (lz / norm)).clamp_(min=0.0)
    shade = lambert.mul_(0.42).add_(0.66).unsqueeze(1)  # (B, 1, h, w)
    cv.paint(box, cv.cover(d), h.skin.view(-1, 3, 1, 1) * shade)


def _hair(cv: _Canvas, h: _Heads) -> None:
    """Hair on the head: a cap above the hairline, and hair at the sides and back of the head, of
    which more shows on the side the face turns away from. Bangs come lower and straighter."""
    box = cv.box(h.cx - 1.2 * h.a, h.cx + 1.2 * h.a, h.cy - 1.3 * h.bh, h.cy + 0.25 * h.bh)
    _, _, X, Y = box
    cx = CENTRE_X + 0.1 * h.a * h.sin
    k = (((X - _col(cx)) / _col(1.1 * h.a)) ** 2 + ((Y - _col(h.cy - 0.07 * h.bh)) / _col(1.1 * h.bh)) ** 2).sqrt_()
    cap = (k - 1.0) * _col(1.1 * h.a)
    # w = sin(theta - yaw): where a point at angle theta around the head sits in the head's own frame,
    # from z = sin(theta) by the angle difference formula (-1 .. 1 across the front of the head).
    z = ((X - CENTRE_X) / _col(1.1 * h.a)).clamp_(-1.0, 1.0)
    w = z * _col(h.cos) - (1.0 - z * z).sqrt_() * _col(h.sin)
    w2 = w * w
    bangs = _col(h.style == 3)
    hairline = torch.where(bangs, _col(h.cy - 0.42 * h.bh) + 0.05 * w2, _col(h.cy - 0.6 * h.bh) + 0.14 * w2)
    sides = torch.maximum(0.87 - w.abs(), Y - _col(h.cy + 0.05 * h.bh))  # negative beside the face
    d = torch.maximum(cap, torch.minimum(Y - hairline, sides))
    shade = (1.0 - 0.25 * ((Y - _col(h.cy - h.bh)) / _col(h.bh)).clamp(0.0, 1.0)).unsqueeze(1)
    cv.paint(box, cv.cover(d), h.hair.view(-1, 3, 1, 1) * shade)


def _beard(cv: _Canvas, h: _Heads) -> None:
    """A full beard: the face below a line from the ears to under the lower lip, a little wider than it."""
    box = cv.box(h.cx - h.width - 0.02, h.cx + h.width + 0.02, h.cy, h.cy + h.bh + 0.03)
    _, _, X, Y = box
    d, u, _ = h.face(X, Y)
    below = _col(h.cy + 0.3 * h.bh) + 0.12 * (1.0 - u * u).clamp_(min=0.0) - Y
    cv.paint(box, cv.cover(torch.maximum(d - 0.012, below)), h.hair * 0.92)


def _mouth_place(h: _Heads) -> tuple[Tensor, Tensor, Tensor]:
    """Mouth centre (x, y) and half-width, foreshortened with the head."""
    mx, fs = h.on_head(0.0)
    return mx, h.cy + 0.56 * h.bh, (0.08 * fs + 0.01) * SMILE_WIDTH[h.smile]


def _moustache(cv: _Canvas, h: _Heads) -> None:
    mx, my, half = _mouth_place(h)
    box = cv.box(mx - 0.11, mx + 0.11, my - 0.06, my + 0.02)
    _, _, X, Y = box
    half = 0.08 * h.on_head(0.0)[1] + 0.01  # the moustache keeps its width when the mouth smiles
    d = _band(X - _col(mx), Y - _col(my - 0.03), _col(half), _col(-0.012 * h.one), _col(0.014 * h.one))
    cv.paint(box, cv.cover(d), h.hair * 0.85)


def _nose(cv: _Canvas, h: _Heads) -> None:
    """A shadow along the ridge, a darker tip and two nostrils; the tip stands out from the face."""
    nx, _ = h.on_head(0.0)
    nx = CENTRE_X + (nx - CENTRE_X) * 1.25
    ny = h.cy + 0.3 * h.bh
    box = cv.box(nx - 0.06, nx + 0.06, h.cy - 0.05, ny + 0.05)
    _, _, X, Y = box
    cv.paint(box, cv.ellipse(X - _col(nx + 0.012 - 0.02 * h.sin), Y - _col(ny - 0.045), _col(0.012 * h.one),
                             _col(0.06 * h.one), 0.35), h.skin * 0.7)
    cv.paint(box, cv.ellipse(X - _col(nx), Y - _col(ny), _col(0.032 * h.one), _col(0.022 * h.one), 0.5), h.skin * 0.8)
    for side in (-1.0, 1.0):
        cv.paint(box, cv.ellipse(X - _col(nx + side * 0.016 * h.cos), Y - _col(ny + 0.012),
                                 _col(0.008 * h.one), _col(0.006 * h.one), 0.8), h.skin * 0.45)


def _lips(cv: _Canvas, h: _Heads) -> None:
    """Closed lips with a dark line between them, curved up or down by the smile factor."""
    mx, my, half = _mouth_place(h)
    box = cv.box(mx - half, mx + half, my - 0.07, my + 0.07)
    _, _, X, Y = box
    dx, dy = X - _col(mx), Y - _col(my)
    rise, half = _col(SMILE_CURVE[h.smile]), _col(half)
    cv.paint(box, cv.cover(_band(dx, dy, half, rise, 0.013)), h.skin * 0.4 + LIP * 0.6)
    cv.paint(box, cv.cover(_band(dx, dy, half, rise, 0.0055)), MOUTH.expand(len(h.a), 3))


def _grin(cv: _Canvas, h: _Heads) -> None:
    """An open grin: lips around a dark opening with the upper teeth showing."""
    mx, my, half = _mouth_place(h)
    box = cv.box(mx - half - 0.01, mx + half + 0.01, my - 0.05, my + 0.07)
    _, _, X, Y = box
    dx, dy = X - _col(mx), Y - _col(my)
    half = _col(half)
    t2 = (dx / half) ** 2
    top = -0.012 - 0.02 * t2  # the upper lip line, corners raised (relative to my)
    bottom = 0.048 * (1.0 - t2) + top * t2  # a deep lower curve meeting it at the corners
    opening = torch.maximum(torch.maximum(top - dy, dy - bottom), dx.abs() - half)
    teeth = torch.maximum(opening, dy - (top + 0.02))
    cv.paint(box, cv.cover(opening - 0.008), h.skin * 0.4 + LIP * 0.6)
    cv.paint(box, cv.cover(opening), MOUTH.expand(len(h.a), 3))
    cv.paint(box, cv.cover(teeth), TEETH.expand(len(h.a), 3))


def _eyes(cv: _Canvas, h: _Heads) -> None:
    """Lash line, white, iris, pupil and highlight, each foreshortened by cos(angle + yaw); eyebrows."""
    b = len(h.a)
    ey = h.cy - 0.02
    frown = (h.smile == 0).float()
    for side in (-1.0, 1.0):
        ex, fs = h.on_head(side * EYE_ANGLE)
        box = cv.box(ex - 0.075, ex + 0.075, ey - 0.05, ey + 0.05)
        _, _, X, Y = box
        dx, dy = X - _col(ex), Y - _col(ey)
        rx, ry = _col(0.058 * fs), _col(0.036 * h.one)
        cv.paint(box, cv.ellipse(dx, dy + 0.003, rx + 0.008, ry + 0.009), LASH.expand(b, 3))
        inside = cv.ellipse(dx, dy, rx, ry)
        cv.paint(box, inside, SCLERA.expand(b, 3))
        ix = dx - _col(0.012 * h.sin)  # the eyes keep looking at the viewer a little
        cv.paint(box, cv.ellipse(ix, dy, _col(0.027 * fs + 0.004), _col(0.029 * h.one)).mul_(inside), h.iris)
        cv.paint(box, cv.ellipse(ix, dy, _col(0.012 * fs + 0.002), _col(0.013 * h.one)).mul_(inside),
                 torch.full((b, 3), 12.0))
        glint = cv.ellipse(ix + 0.01, dy + 0.011, _col(0.007 * h.one), _col(0.007 * h.one), 0.9).mul_(inside)
        cv.paint(box, glint, torch.full((b, 3), 255.0))
        # Eyebrow: an arched band above the eye; frowning pulls it down and its inner end lower.
        by = ey - 0.075 + 0.01 * frown
        box = cv.box(ex - 0.09, ex + 0.09, by - 0.04, by + 0.04)
        _, _, X, Y = box
        dxb = X - _col(ex + side * 0.004)
        tilt = _col(0.3 * frown * side) * dxb  # inner end (towards the nose) down when frowning
        d = _band(dxb, Y - _col(by) + tilt, _col(0.064 * fs + 0.01), _col(0.018 * h.one), _col(0.011 * h.one))
        cv.paint(box, cv.cover(d), h.hair * 0.75)


def _glasses(cv: _Canvas, h: _Heads) -> None:
    """A tinted lens and a frame over each eye (round or square), the bridge and the visible temples."""
    b = len(h.a)
    ey = h.cy - 0.016
    square = _col(h.glasses == 2)
    edges = []
    for side in (-1.0, 1.0):
        ex, fs = h.on_head(side * EYE_ANGLE)
        box = cv.box(ex - 0.09, ex + 0.09, ey - 0.07, ey + 0.07)
        _, _, X, Y = box
        dx, dy = X - _col(ex), Y - _col(ey)
        rx, ry = _col(0.068 * fs + 0.004), _col(0.054 * h.one)
        k = ((dx / rx) ** 2 + (dy / ry) ** 2).sqrt_()
        round_d = (k - 1.0) * torch.minimum(rx, ry)
        qx, qy = dx.abs() - (rx - 0.012), dy.abs() - (ry - 0.012)  # a rectangle with rounded corners
        box_d = (qx.clamp(min=0.0) ** 2 + qy.clamp(min=0.0) ** 2).sqrt_() + torch.maximum(qx, qy).clamp_(max=0.0) - 0.012
        lens = torch.where(square, box_d, round_d)
        ring = lens.abs() - 0.0055
        cv.paint(box, cv.cover(lens, 0.28), LENS.expand(b, 3))
        cv.paint(box, cv.cover(ring), FRAME.expand(b, 3))
        edges.append((ex - rx.view(-1), ex + rx.view(-1)))
    (_, left_inner), (right_inner, _) = edges
    box = cv.box(left_inner, right_inner, ey - 0.03, ey)
    _, _, X, Y = box
    mid, half = (left_inner + right_inner) / 2, (right_inner - left_inner).abs() / 2 + 0.004
    bridge = _band(X - _col(mid), Y - _col(ey - 0.014), _col(half), _col(0.008 * h.one), _col(0.005 * h.one))
    cv.paint(box, cv.cover(bridge), FRAME.expand(b, 3))
    for side, inner in ((-1.0, edges[0][0]), (1.0, edges[1][1])):  # the outer edge of each lens
        ear, _ = h.on_head(side * EAR_ANGLE)
        lo, hi = torch.minimum(inner, ear), torch.maximum(inner, ear)
        box = cv.box(lo, hi, ey - 0.03, ey)
        _, _, X, Y = box
        visible = (side * (ear - inner) > 0.0).float()  # a temple only shows on the side we see
        temple = torch.maximum((Y - _col(ey - 0.014)).abs() - 0.005, torch.maximum(_col(lo) - X, X - _col(hi)))
        cv.paint(box, cv.cover(temple) * _col(visible), FRAME.expand(b, 3))


def faces_data(factors: Tensor, *, size: int = 32, label: str = DEFAULT_LABEL, name: str = "faces",
               supersample: int = 2) -> ArrayData:
    """An ``ArrayData`` of the faces with these factor indices: labels = the ``label`` factor, captions."""
    factors = check_factors(factors)
    if label not in FACTOR_NAMES:
        raise DataError(f"faces label={label!r} is not a factor; choose one of {', '.join(FACTOR_NAMES)}")
    x = render_faces(factors, size=size, supersample=supersample)
    k = FACTOR_NAMES.index(label)
    return ArrayData(name, x, factors[:, k].clone(), factors, FACTOR_NAMES, VALUE_NAMES[label],
                     description=f"procedural faces {size}x{size}, factors {', '.join(FACTOR_NAMES)}, label {label}",
                     factor_sizes=FACTOR_SIZES, captions=captions(factors))


def load_faces(
    n: int = 20000,
    n_test: int = 2000,
    size: int = 32,
    seed: int = 0,
    label: str = DEFAULT_LABEL,
    factor_weights: Mapping[str, Sequence[float]] | None = None,
) -> DataSplits:
    """A seeded random subset of the 2,332,800 combinations: ``n`` train and ``n_test`` test faces.

    Without ``factor_weights`` train and test are distinct combinations drawn uniformly without
    replacement. With them, the training factors are drawn independently from those weights
    (with replacement) and the test split stays uniform (``FactorGrid.split``).
    """
    check_size(size)
    if n < 1 or n_test < 0:
        raise DataError(f"faces needs n >= 1 and n_test >= 0, got n={n}, n_test={n_test}")
    if label not in FACTOR_NAMES:
        raise DataError(f"faces label={label!r} is not a factor; choose one of {', '.join(FACTOR_NAMES)}")
    g = torch.Generator().manual_seed(seed)
    train_factors, test_factors = GRID.split(n, n_test, generator=g, weights=factor_weights)
    options = {"n": n, "n_test": n_test, "size": size, "seed": seed, "label": label, "factor_weights": factor_weights}
    return DataSplits(faces_data(train_factors, size=size, label=label),
                      faces_data(test_factors, size=size, label=label), "faces", options)
