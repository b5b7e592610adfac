"""Lesson 04: convolution from loops, then im2col + matmul, then its transpose.

What you will learn:
- what a 2-D convolution (PyTorch's cross-correlation) computes, written as plain loops;
- im2col: copy every KxK window into a column (F.unfold), and the convolution becomes ONE
  matrix product, which is how fast libraries (and minigan's kernels) do it;
- the transposed convolution (a GAN generator's upsampling layer) is the ADJOINT of a
  convolution: <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, so it is also the gradient
  of conv2d with respect to its input;
- each version is checked against F.conv2d and against finite differences (gradcheck).

What to look at:
- im2col.png: a digit, the matrix of its 3x3 windows (one column per output pixel), and
  what two edge filters make of it (each a row of weights times that matrix);
- transposed.png: conv2d with stride 2 halves an image; conv_transpose2d with stride 2
  stamps a scaled copy of the kernel for every input pixel: a single pixel becomes the
  kernel, overlapping stamps add up (the "checkerboard" of uneven overlaps).

Run it:
    python lessons/04_convolution_from_loops.py [--quick] [--out DIR] [--seed N] [--baseline]

--baseline writes the textbook convolution instead, which flips the kernel: the versions
written here no longer equal F.conv2d (PyTorch's conv2d does NOT flip), nor is the flipped
transpose an adjoint, and the closing check fails.

It writes, under --out (default lessons/out/04_convolution_from_loops/): im2col.png and
transposed.png.
"""
import argparse
import os
import time

import numpy as np

import minigan as mg
from minigan import data
import minigan.nn.functional as F

import claims

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="smaller shapes for the checks")
parser.add_argument("--out", default="lessons/out/04_convolution_from_loops/")
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "the textbook convolution, with a flipped kernel")
args = parser.parse_args()
claims.announce(args.baseline, "every hand-written version flips the kernel")
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
# Shapes for the equality checks, and (smaller) for the finite-difference checks, which
# run the forward twice per input element.
N, C, H, W, O, K = (2, 3, 8, 8, 4, 3) if args.quick else (4, 3, 12, 12, 8, 3)
GEOMETRIES = [dict(stride=1, padding=1), dict(stride=2, padding=1), dict(stride=2, padding=0)]
gc_shape = (1, 2, 4, 4) if args.quick else (2, 2, 6, 6)          # (N, C, H, W) for gradcheck
gc_out = 2 if args.quick else 3                                   # O for gradcheck


def out_size(size, k, stride, padding):
    return (size + 2 * padding - k) // stride + 1


def flip(w):
    """The kernel turned by 180 degrees, w[:, :, ::-1, ::-1]: the textbook convolution's."""
    flipped = np.ascontiguousarray(w.detach().numpy()[:, :, ::-1, ::-1])
    return mg.tensor(flipped, dtype=w.dtype, requires_grad=w.requires_grad)


def as_written(w):
    """The kernel our versions use: as is (cross-correlation, like PyTorch), or flipped
    under --baseline (the textbook convolution)."""
    return flip(w) if args.baseline else w


# --- 1. convolution as loops (NumPy arrays, the definition) ---
# y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] * xpad[n, c, i*stride + a, j*stride + b]
def conv2d_loops(x, w, stride=1, padding=0):
    n_, c_, h_, w_ = x.shape
    o_, _, kh, kw = w.shape
    oh, ow = out_size(h_, kh, stride, padding), out_size(w_, kw, stride, padding)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros((n_, o_, oh, ow), dtype=x.dtype)                 # (N, O, OH, OW)
    for n in range(n_):
        for o in range(o_):
            for i in range(oh):
                for j in range(ow):
                    total = 0.0
                    for c in range(c_):
                        for a in range(kh):
                            for b in range(kw):
                                total += w[o, c, a, b] * xpad[n, c, i * stride + a, j * stride + b]
                    y[n, o, i, j] = total
    return y


x = mg.randn(N, C, H, W, dtype=mg.float64)                        # (N, C, H, W)
w = mg.randn(O, C, K, K, dtype=mg.float64)                        # (O, C, K, K)
loops_gap = 0.0
for geo in GEOMETRIES:
    start = time.perf_counter()
    y_loops = conv2d_loops(x.numpy(), as_written(w).numpy(), **geo)   # (N, O, OH, OW)
    t_loops = time.perf_counter() - start
    y_ref = F.conv2d(x, w, **geo).numpy()
    loops_gap = max(loops_gap, float(np.abs(y_loops - y_ref).max()))
    print(f"loops {geo}: output {y_loops.shape}, max |loops - F.conv2d| = "
          f"{np.abs(y_loops - y_ref).max():.1e} ({t_loops * 1e3:.0f} ms in Python loops)")


# The same loops written with Tensor ops (a window at a time), so autograd can
# differentiate them: the window times the flattened kernels, for every output pixel.
def conv2d_tensor_loops(x, w, stride=1, padding=0):
    n_, c_, h_, w_ = x.shape
    o_, _, kh, kw = w.shape
    oh, ow = out_size(h_, kh, stride, padding), out_size(w_, kw, stride, padding)
    xpad = F.pad(x, (padding, padding, padding, padding))         # (N, C, H+2p, W+2p)
    w_flat = w.reshape(o_, c_ * kh * kw)                          # (O, C*K*K)
    pixels = []
    for i in range(oh):
        for j in range(ow):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            pixels.append(window.reshape(n_, -1) @ w_flat.T)     # (N, C*K*K) @ (C*K*K, O) -> (N, O)
    return mg.stack(pixels, 2).reshape(n_, o_, oh, ow)            # (N, O, OH*OW) -> (N, O, OH, OW)


# --- 2. im2col + one matrix product ---
def conv2d_im2col(x, w, stride=1, padding=0):
    n_, c_, h_, w_ = x.shape
    o_, _, kh, kw = w.shape
    oh, ow = out_size(h_, kh, stride, padding), out_size(w_, kw, stride, padding)
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C*K*K, OH*OW)
    y = w.reshape(o_, c_ * kh * kw) @ cols                        # (O, C*K*K) @ (N, C*K*K, L) -> (N, O, L)
    return y.reshape(n_, o_, oh, ow)                              # (N, O, OH, OW)


im2col_gap = tensor_loops_gap = 0.0
for geo in GEOMETRIES:
    y_ref = F.conv2d(x, w, **geo)
    start = time.perf_counter()
    y_cols = conv2d_im2col(x, as_written(w), **geo)
    t_cols = time.perf_counter() - start
    y_tl = conv2d_tensor_loops(x, as_written(w), **geo)
    im2col_gap = max(im2col_gap, float((y_cols - y_ref).abs().max()))
    tensor_loops_gap = max(tensor_loops_gap, float((y_tl - y_ref).abs().max()))
    print(f"im2col {geo}: columns {tuple(F.unfold(x, K, **geo).shape)}, max |im2col - F.conv2d| = "
          f"{float((y_cols - y_ref).abs().max()):.1e} ({t_cols * 1e3:.2f} ms); tensor loops "
          f"{float((y_tl - y_ref).abs().max()):.1e}")

# --- 3. every version against finite differences ---
# gradcheck perturbs each input element and compares with the backward: the backward of
# the loop version is built by autograd from slices and matmuls, the im2col one from
# unfold's backward (fold = col2im), F.conv2d's from the hand-written kernels.
xg = mg.randn(*gc_shape, dtype=mg.float64, requires_grad=True)
wg = mg.randn(gc_out, gc_shape[1], K, K, dtype=mg.float64, requires_grad=True)
checked = {}
for name, conv in (("tensor loops", conv2d_tensor_loops), ("im2col + matmul", conv2d_im2col),
                   ("F.conv2d", F.conv2d)):
    for geo in GEOMETRIES[:2]:
        start = time.perf_counter()
        checked[(name, geo["stride"])] = mg.autograd.gradcheck(
            lambda x, w: conv(x, w, **geo), (xg, wg))
        print(f"gradcheck {name:16s} {geo}: passed ({time.perf_counter() - start:.2f} s)")

# --- 4. the transposed convolution is the adjoint ---
# For a linear map A, the adjoint A^T is defined by <A x, y> = <x, A^T y> for all x, y.
# conv2d(., w) is linear in x; conv_transpose2d(., w) with the SAME weight is its adjoint.
# With stride 2 several input sizes give the same output size; output_padding picks ours.
adjoint_gap = grad_gap = flipped_adjoint_gap = flipped_grad_gap = 0.0
for geo in GEOMETRIES:
    y_shape = F.conv2d(x, w, **geo).shape                         # (N, O, OH, OW)
    y = mg.randn(*y_shape, dtype=mg.float64)
    oh = y_shape[2]
    output_padding = H - ((oh - 1) * geo["stride"] - 2 * geo["padding"] + K)
    xt = F.conv_transpose2d(y, as_written(w), output_padding=output_padding, **geo)  # (N, C, H, W)
    left = float((F.conv2d(x, w, **geo) * y).sum())               # <conv2d(x, w), y>
    right = float((x * xt).sum())                                 # <x, conv_transpose2d(y, w)>
    adjoint_gap = max(adjoint_gap, abs(left - right) / abs(left))
    # ...and so it is the gradient of <conv2d(x, w), y> with respect to x:
    xr = x.detach().requires_grad_()
    gx, = mg.autograd.grad((F.conv2d(xr, w, **geo) * y).sum(), xr)
    grad_gap = max(grad_gap, float((gx - xt).abs().max()))
    # The baseline for the claim: the same with the flipped kernel, which is NOT the adjoint.
    xt_flipped = F.conv_transpose2d(y, flip(w), output_padding=output_padding, **geo)
    flipped_adjoint_gap = max(flipped_adjoint_gap,
                              abs(left - float((x * xt_flipped).sum())) / abs(left))
    flipped_grad_gap = max(flipped_grad_gap, float((gx - xt_flipped).abs().max()))
    print(f"adjoint {geo}: <conv2d(x,w), y> = {left:+.6f}, <x, conv_transpose2d(y,w)> = "
          f"{right:+.6f}; output_padding {output_padding}; |grad - conv_transpose2d| = "
          f"{float((gx - xt).abs().max()):.1e}")
yg = mg.randn(1, 2, 3, 3, dtype=mg.float64, requires_grad=True)
wt = mg.randn(2, 2, K, K, dtype=mg.float64, requires_grad=True)  # (C_in, C_out, K, K)
transpose_checked = mg.autograd.gradcheck(
    lambda y, w: F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1), (yg, wt))
print(f"gradcheck F.conv_transpose2d stride 2: passed")

# --- 5. figures ---
from matplotlib.figure import Figure  # noqa: E402  (plotting only)

digit = F.avg_pool2d(data.mnist_5k("test").tensors[0][:1], 2)   # (1, 1, 28, 28) -> (1, 1, 14, 14)
digit = (digit + 1) / 2                     # [-1, 1] -> [0, 1]: background 0, like the padding
edges = mg.tensor([[[[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]]],       # Sobel: vertical edges
                   [[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]]])       # horizontal edges (2, 1, 3, 3)
cols = F.unfold(digit, 3, padding=1)                              # (1, 9, 196)
feature = conv2d_im2col(digit, edges, padding=1)                  # (1, 2, 14, 14)
fig = Figure(figsize=(13, 3.6))
axes = fig.subplots(1, 4, gridspec_kw=dict(width_ratios=[1, 3.2, 1, 1]))
axes[0].imshow(digit[0, 0].numpy(), cmap="gray")
axes[0].set_title("input digit (14x14)")
axes[1].imshow(cols[0].numpy(), cmap="gray", aspect="auto", interpolation="nearest")
axes[1].set_title("F.unfold: one column per output pixel (9 x 196)")
axes[1].set_xlabel("output pixel (row-major)")
axes[1].set_ylabel("tap in the 3x3 window")
for ax, k, name in ((axes[2], 0, "vertical edges"), (axes[3], 1, "horizontal edges")):
    limit = float(feature.abs().max())                        # symmetric: white = 0
    ax.imshow(feature[0, k].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"Sobel, {name}:\nkernel row @ columns", fontsize=10)
for ax in (axes[0], axes[2], axes[3]):
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Convolution as im2col + one matrix product", y=1.04)
path = os.path.join(args.out, "im2col.png")
fig.savefig(path, dpi=110, bbox_inches="tight")
print("wrote", path)

# Transposed: a single pixel stamps the kernel; a constant image shows the overlaps.
ones_kernel = mg.ones(1, 1, 4, 4)                                 # (C_in, C_out, 4, 4)
impulse = mg.zeros(1, 1, 4, 4)
impulse[0, 0, 1, 2] = 1.0
flat = mg.ones(1, 1, 4, 4)
ramp_kernel = mg.arange(16, dtype=mg.float32).reshape(1, 1, 4, 4) / 15
fig = Figure(figsize=(13, 3.4))
axes = fig.subplots(1, 4)
shown = [
    (impulse[0, 0], "input: one pixel (4x4)"),
    (F.conv_transpose2d(impulse, ramp_kernel, stride=2, padding=1)[0, 0],
     "conv_transpose2d, k4 s2 p1 (8x8):\nthe pixel becomes the kernel"),
    (F.conv_transpose2d(flat, ones_kernel, stride=2, padding=1)[0, 0],
     "constant input, all-ones kernel:\noverlap count (k4 s2 is even)"),
    (F.conv_transpose2d(flat, mg.ones(1, 1, 3, 3), stride=2, padding=1, output_padding=1)[0, 0],
     "same with k3 s2:\nuneven overlaps = checkerboard"),
]
for ax, (image, title) in zip(axes, shown):
    im = ax.imshow(image.numpy(), cmap="viridis")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Transposed convolution (a generator's upsampling): the adjoint of a strided conv2d")
path = os.path.join(args.out, "transposed.png")
fig.savefig(path, dpi=110, bbox_inches="tight")
print("wrote", path)

# --- 6. the claims ---
# The baseline is the textbook convolution (kernel flipped): measured here on the first
# geometry, it is what "loops = F.conv2d" would give if we had written the wrong thing.
flip_gap = float(np.abs(conv2d_loops(x.numpy(), flip(w).numpy(), **GEOMETRIES[0])
                        - F.conv2d(x, w, **GEOMETRIES[0]).numpy()).max())
check = claims.ClaimCheck(args.baseline, "the flipped, textbook convolution")
for name, gap in (("loops", loops_gap), ("tensor loops", tensor_loops_gap),
                  ("im2col + matmul", im2col_gap)):
    check.lower(f"max |{name} - F.conv2d|", gap, flip_gap, at_most=1e-10, fmt=".1e")
check.fact("every version passes gradcheck", all(checked.values()) and transpose_checked,
           f"{sum(checked.values())}/{len(checked)} + conv_transpose2d")
check.lower("relative gap <conv2d(x,w), y> vs <x, conv_transpose2d(y,w)>", adjoint_gap,
            flipped_adjoint_gap, at_most=1e-10, fmt=".1e")
check.lower("max |d<conv2d(x,w), y>/dx - conv_transpose2d(y,w)|", grad_gap, flipped_grad_gap,
            at_most=1e-10, fmt=".1e")
check.done("loops = im2col + matmul = F.conv2d, all pass gradcheck, and conv_transpose2d is "
           "conv2d's adjoint")

# --- Questions ---
# 1. Why is conv_transpose2d with the SAME weight the gradient of conv2d with respect to
#    its input? (Answer: conv2d is linear in x; the gradient of <A x, y> is A^T y, and
#    conv_transpose2d is A^T, the adjoint.)
# 2. Why does a 3x3 kernel with stride 2 make a checkerboard in transposed.png, and a 4x4
#    one not? (Answer: 3 is not a multiple of the stride 2, so output pixels receive 1 or
#    2 overlapping stamps in turn; with 4 every pixel receives exactly 2.)
#
# --- Try this ---
# 1. Add dict(stride=3, padding=1) to GEOMETRIES.
#    Expect: every check still holds: the loops, im2col and the tensor loops equal
#    F.conv2d, and the adjoint identity holds with output_padding 1 (the formula in
#    section 4 picks it: stride 3 maps several input sizes to one output size).
# 2. python lessons/04_convolution_from_loops.py --quick --baseline
#    Expect: the textbook convolution (flipped kernel) differs from F.conv2d by about 42
#    and its transpose is no adjoint: "claim fails". PyTorch's conv2d does not flip.
