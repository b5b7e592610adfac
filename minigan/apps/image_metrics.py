"""How close is a restored image to the original? PSNR and SSIM, in NumPy.

PSNR (peak signal-to-noise ratio), in dB, from the mean squared error:

    PSNR = 10 log10(R^2 / MSE)        R = data_range (1 for images in [0, 1])

SSIM (structural similarity, Wang, Bovik, Sheikh & Simoncelli 2004) compares local means,
variances and the covariance in an 11x11 Gaussian window (sigma 1.5) around every pixel:

    SSIM(x, y) = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))
    C1 = (0.01 R)^2,  C2 = (0.03 R)^2

`ssim_map` gives that number per pixel (borders use symmetric padding, as scipy.ndimage
and scikit-image do); `ssim` averages it, over the interior (scikit-image's convention) or
over the pixels of a mask (the hole, for inpainting).

Both take batches (N, 1, H, W), (N, H, W) or single (H, W) images and return one value per
image. NOTE: SSIM's luminance term is not shift-invariant: pass images in [0, 1]
(`to_unit(x)` maps minigan's [-1, 1] there), not [-1, 1].

    >>> psnr(to_unit(restored), to_unit(original))           # (N,) dB
    >>> ssim(to_unit(restored), to_unit(original), mask=hole) # (N,) on the hole only
"""
import numpy as np

__all__ = ["to_unit", "psnr", "gaussian_window", "ssim_map", "ssim"]


def to_unit(images):
    """[-1, 1] -> [0, 1], float64."""
    return (np.asarray(images, dtype=np.float64) + 1) / 2


def _as_batch(a):
    """(H, W) -> (1, H, W); (N, 1, H, W) -> (N, H, W); float64."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 4:
        if a.shape[1] != 1:
            raise ValueError(f"expected grey images (N, 1, H, W), got {a.shape}")
        return a[:, 0]
    if a.ndim == 3:
        return a
    raise ValueError(f"expected images of shape (H, W), (N, H, W) or (N, 1, H, W), got {a.shape}")


def _pair(a, b, mask):
    a, b = _as_batch(a), _as_batch(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if mask is not None:
        mask = np.broadcast_to(_as_batch(mask), a.shape) > 0.5
    return a, b, mask


def psnr(a, b, data_range=1.0, mask=None):
    """PSNR in dB per image (inf where the images are equal), over `mask` pixels if given."""
    a, b, mask = _pair(a, b, mask)
    squared = (a - b) ** 2
    if mask is None:
        mse = squared.reshape(len(a), -1).mean(1)
    else:
        count = mask.reshape(len(a), -1).sum(1)
        if np.any(count == 0):
            raise ValueError("psnr: an image has an empty mask")
        mse = (squared * mask).reshape(len(a), -1).sum(1) / count
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range ** 2 / mse)


def gaussian_window(size=11, sigma=1.5):
    """The 1-D Gaussian weights (sum 1); the 2-D window is their outer product."""
    x = np.arange(size) - (size - 1) / 2
    w = np.exp(-x ** 2 / (2 * sigma ** 2))
    return w / w.sum()


def _filter(images, w):
    """Weighted local mean: separable convolution with symmetric padding, same size out."""
    r = len(w) // 2
    padded = np.pad(images, ((0, 0), (r, r), (r, r)), mode="symmetric")    # (N, H+2r, W+2r)
    H, W = images.shape[1:]
    rows = sum(w[k] * padded[:, k:k + H, :] for k in range(len(w)))         # (N, H, W+2r)
    return sum(w[k] * rows[:, :, k:k + W] for k in range(len(w)))           # (N, H, W)


def ssim_map(a, b, data_range=1.0, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """SSIM at every pixel, shape (N, H, W)."""
    a, b, _ = _pair(a, b, None)
    w = gaussian_window(size, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_a, mu_b = _filter(a, w), _filter(b, w)
    var_a = _filter(a * a, w) - mu_a ** 2               # E[x^2] - E[x]^2, in the window
    var_b = _filter(b * b, w) - mu_b ** 2
    cov = _filter(a * b, w) - mu_a * mu_b
    luminance = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
    structure = (2 * cov + c2) / (var_a + var_b + c2)
    return luminance * structure


def ssim(a, b, data_range=1.0, mask=None, size=11, sigma=1.5):
    """Mean SSIM per image: over `mask` pixels if given, else over the interior (the map
    without its (size-1)/2-pixel border, where the window leaves the image)."""
    a, b, mask = _pair(a, b, mask)
    s = ssim_map(a, b, data_range, size, sigma)
    if mask is None:
        r = (size - 1) // 2
        return s[:, r:s.shape[1] - r, r:s.shape[2] - r].reshape(len(s), -1).mean(1)
    count = mask.reshape(len(s), -1).sum(1)
    if np.any(count == 0):
        raise ValueError("ssim: an image has an empty mask")
    return (s * mask).reshape(len(s), -1).sum(1) / count
