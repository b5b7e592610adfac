"""Typeset digits, rendered offline from the fonts matplotlib ships: printed 0-9 drawn
the way MNIST's handwritten ones are, so the two can be put side by side (CycleGAN's
typeset <-> handwritten domains).

    >>> train = typeset_digits("train")          # 4,500 digits, 450 per class
    >>> images, labels = train.tensors           # (4500, 1, 28, 28) in [-1, 1], (4500,) int64

Each digit is one glyph of one of up to 21 faces (DejaVu Sans, Serif and Mono, STIX and
Computer Modern, in several weights and slants; `available_fonts()` lists those found),
with a small random rotation, size and shift, then placed like an MNIST digit:

    1. FreeType (matplotlib.ft2font) draws the glyph large, about 80 px tall, anti-aliased
    2. rotate it; scale it so the longer side of its ink box is 20 px (times a size jitter)
    3. put its centre of mass where MNIST's is, at (14, 14) (plus a shift jitter)
    4. sample every pixel at 4x4 sub-pixel points and average: soft edges, as in MNIST

Pixels are stored as 0-255 like MNIST's and given in [-1, 1] (background -1, ink +1)
like minigan's MNIST. Everything is drawn from one seeded generator, so a seed gives the
same digits every time; the pixels are cached as .npz in `cache_dir()` (drawing all
5,000 takes about 10 s of CPU).
"""
import os
import warnings
import zipfile

import numpy as np

from .digits import _split, _to_unit_range
from .files import cache_dir, save_npz_atomic

__all__ = ["TYPESET_FONTS", "available_fonts", "render_digits", "typeset_digits"]

# The faces: regular, bold, slanted and bold slanted where the font family has them.
TYPESET_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf")

SIZE = 28              # the image, like MNIST
BOX = 20               # the longer side of the ink box, like MNIST's normalisation
CENTRE = SIZE / 2      # where MNIST puts the centre of mass (MNIST-5k: y 13.99, x 14.00)
_GLYPH_POINTS = 112    # FreeType size (at 72 dpi: 1 pt = 1 px); digits come out ~80 px tall
_SUPERSAMPLE = 4       # sub-pixels per pixel side
_CHUNK = 500           # images sampled at once (bounded memory)
VERSION = 2            # of the drawing: bump it when that changes, so old caches are not reused

# The jitter: rotation in degrees, size as a fraction of BOX, shift in pixels.
ROTATION = 10.0
SCALE = (0.85, 1.0)
SHIFT = 1.0


def _font_folder():
    import matplotlib
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def available_fonts():
    """The names in TYPESET_FONTS that this matplotlib ships (all, in matplotlib 3.x)."""
    folder = _font_folder()
    return tuple(name for name in TYPESET_FONTS if os.path.isfile(os.path.join(folder, name)))


# --- 1. the glyphs, large ---
def _glyph(font_name, digit):
    """Ink coverage of one digit in one font, float64 in [0, 1], about 80 px tall."""
    from matplotlib import ft2font
    font = ft2font.FT2Font(os.path.join(_font_folder(), font_name))
    font.set_size(_GLYPH_POINTS, 72)
    font.set_text(str(digit), 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    ink = np.asarray(font.get_image(), dtype=np.float64) / 255.0          # (h, w)
    if ink.max() == 0:
        raise ValueError(f"typeset digits: the font {font_name} drew nothing for {digit!r}")
    return ink


def _glyph_table(fonts):
    """Every glyph on one zero canvas, (F * 10, H, W), with each one's centre of mass
    (F * 10, 2) and the (y, x) of its inked pixels (for the ink box after rotation)."""
    glyphs = [_glyph(font, d) for font in fonts for d in range(10)]
    H = max(g.shape[0] for g in glyphs) + 2                    # a zero border all round:
    W = max(g.shape[1] for g in glyphs) + 2                    # sampling outside reads 0
    canvas = np.zeros((len(glyphs), H, W))
    centres, inked = [], []
    for k, g in enumerate(glyphs):
        canvas[k, 1:1 + g.shape[0], 1:1 + g.shape[1]] = g
        ys, xs = np.indices(canvas.shape[1:])
        centres.append([(ys * canvas[k]).sum() / canvas[k].sum(),
                        (xs * canvas[k]).sum() / canvas[k].sum()])
        inked.append(np.argwhere(canvas[k] > 0.5).astype(np.float64))    # (m, 2)
    return canvas, np.array(centres), inked


# --- 2-4. place and sample ---
def _pixel_grid():
    """Sub-pixel sample points of the 28x28 image: (SIZE*S, SIZE*S) y and x coordinates."""
    s = _SUPERSAMPLE
    points = (np.arange(SIZE * s) + 0.5) / s - 0.5             # pixel centres at 0, 1, ..., 27
    return np.meshgrid(points, points, indexing="ij")


def _bilinear(canvas, which, y, x):
    """Bilinear samples of canvas[which] at (y, x); 0 outside. which (n,), y, x (n, P, P)."""
    H, W = canvas.shape[1:]
    y = np.clip(y, 0, H - 1.001)                               # the border is 0: clipping
    x = np.clip(x, 0, W - 1.001)                               # to it reads 0
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    fy, fx = y - y0, x - x0
    k = which[:, None, None]
    return ((1 - fy) * (1 - fx) * canvas[k, y0, x0] + (1 - fy) * fx * canvas[k, y0, x0 + 1]
            + fy * (1 - fx) * canvas[k, y0 + 1, x0] + fy * fx * canvas[k, y0 + 1, x0 + 1])


def _place(canvas, centres, inked, which, angle, scale, shift):
    """The affine map of each chosen glyph into the image, as inverse maps for sampling.

    image point q = k R (p - c) + t, with R the rotation, k the size (the rotated ink box's
    longer side becomes scale * BOX), c the glyph's centre of mass and t the image centre
    plus the shift. Sampling needs the inverse: p = c + R^T (q - t) / k.
    Returns (matrices (n, 2, 2) mapping q - t to p - c, c (n, 2), t (n, 2)).
    """
    cos, sin = np.cos(angle), np.sin(angle)
    inverse = []
    for i, w in enumerate(which):
        R = np.array([[cos[i], -sin[i]], [sin[i], cos[i]]])   # acts on (y, x)
        turned = (inked[w] - centres[w]) @ R.T                  # the ink, rotated: (m, 2)
        extent = (turned.max(0) - turned.min(0) + 1).max()      # its box's longer side
        k = scale[i] * BOX / extent
        inverse.append(R.T / k)
    t = CENTRE + shift                                          # (n, 2)
    return np.array(inverse), centres[which], t


def render_digits(fonts, digits, angles=None, scales=None, shifts=None):
    """Draw digits[i] in fonts[i] (names from TYPESET_FONTS), rotated by angles[i] degrees,
    its ink box scales[i] * 20 px, its centre of mass shifts[i] = (dy, dx) px off the
    image centre (defaults: 0, 1, (0, 0)). Returns (n, 1, 28, 28) float32 in [-1, 1]."""
    fonts, digits = list(fonts), np.asarray(digits, dtype=np.int64)
    n = len(digits)
    if len(fonts) != n:
        raise ValueError(f"render_digits: expected one font per digit, got {len(fonts)} "
                         f"fonts for {n} digits")
    if n and not (digits.min() >= 0 and digits.max() <= 9):
        raise ValueError(f"render_digits: digits must be 0 to 9, got {sorted(set(digits.tolist()))}")
    unknown = sorted(set(fonts) - set(TYPESET_FONTS))
    if unknown:
        raise ValueError(f"render_digits: fonts must be among TYPESET_FONTS, got {unknown}")
    angles = np.zeros(n) if angles is None else np.asarray(angles, dtype=np.float64)
    scales = np.ones(n) if scales is None else np.asarray(scales, dtype=np.float64)
    shifts = np.zeros((n, 2)) if shifts is None else np.asarray(shifts, dtype=np.float64)
    used = sorted(set(fonts))
    canvas, centres, inked = _glyph_table(used)
    which = np.array([used.index(f) * 10 + d for f, d in zip(fonts, digits)], dtype=np.int64)
    inverse, c, t = _place(canvas, centres, inked, which, np.radians(angles), scales, shifts)
    gy, gx = _pixel_grid()                                       # (P, P) each, P = 28 * 4
    s = _SUPERSAMPLE
    images = np.empty((n, 1, SIZE, SIZE), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        dy = gy[None] - t[sl, 0, None, None]                     # (m, P, P): q - t
        dx = gx[None] - t[sl, 1, None, None]
        M = inverse[sl]
        py = c[sl, 0, None, None] + M[:, 0, 0, None, None] * dy + M[:, 0, 1, None, None] * dx
        px = c[sl, 1, None, None] + M[:, 1, 0, None, None] * dy + M[:, 1, 1, None, None] * dx
        ink = _bilinear(canvas, which[sl], py, px)               # (m, P, P)
        ink = ink.reshape(-1, SIZE, s, SIZE, s).mean(axis=(2, 4))   # (m, 28, 28): averaged
        images[sl, 0] = np.clip(ink, 0, 1) * 2 - 1
    return images


# --- the dataset ---
def _draw(per_class, seed):
    """(pixels (N, 28, 28) uint8 0-255 like MNIST's, labels (N,) int64): per_class digits
    of each class, fonts and jitter from `seed`."""
    rng = np.random.default_rng(seed)
    fonts = available_fonts()
    n = 10 * per_class
    labels = np.repeat(np.arange(10, dtype=np.int64), per_class)
    chosen = [fonts[i] for i in rng.integers(0, len(fonts), n)]
    angles = rng.uniform(-ROTATION, ROTATION, n)
    scales = rng.uniform(*SCALE, n)
    shifts = rng.uniform(-SHIFT, SHIFT, (n, 2))
    images = render_digits(chosen, labels, angles, scales, shifts)        # (N, 1, 28, 28)
    return np.round((images[:, 0] + 1) * 127.5).astype(np.uint8), labels


def _cache_path(per_class, seed):
    import matplotlib                      # FreeType's drawing may change with matplotlib
    return cache_dir() / f"typeset-v{VERSION}-{per_class}-{seed}-mpl{matplotlib.__version__}.npz"


def _load(per_class, seed):
    path = _cache_path(per_class, seed)
    try:
        with np.load(path, allow_pickle=False) as npz:
            pixels, labels = npz["pixels"], npz["labels"]
        if (pixels.shape == (10 * per_class, SIZE, SIZE) and pixels.dtype == np.uint8
                and labels.shape == (10 * per_class,)):
            return pixels, labels
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass                               # missing or damaged: draw them again
    pixels, labels = _draw(per_class, seed)
    try:
        save_npz_atomic(path, pixels=pixels, labels=labels)
    except OSError as error:
        warnings.warn(f"typeset digits: could not write the cache {path} ({error}); set "
                      f"MINIGAN_CACHE to a writable folder to make loads faster")
    return pixels, labels


def typeset_digits(split="all", test_fraction=0.1, seed=0, per_class=500):
    """Typeset digits: TensorDataset (images, labels), like `mnist_5k`.

    images: (N, 1, 28, 28) float32 in [-1, 1]; labels: (N,) int64 in 0..9.
    per_class: digits of each class drawn (500: 5,000 in all, as many as MNIST-5k).
    split:  "all", or a stratified "train"/"test" split with `test_fraction` of every class
            in the test set. `seed` fixes the fonts, the jitter, the split and the order.
    """
    if per_class < 1:
        raise ValueError(f"typeset_digits: per_class must be at least 1, got {per_class}")
    pixels, labels = _load(per_class, seed)
    images = _to_unit_range(pixels, 255)[:, None]                       # (N, 1, 28, 28)
    return _split(images, labels, split, test_fraction, seed)
