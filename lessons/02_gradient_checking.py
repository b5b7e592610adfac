"""Lesson 02: gradient checking, the test every backward in minigan must pass.

What you will learn:
- finite differences approximate a derivative, forward (f(x+h) - f(x)) / h with an error
  ~h, central (f(x+h) - f(x-h)) / 2h with an error ~h^2;
- why the error against the step size h is a V on a log-log plot: truncation error on the
  right (big h), round-off on the left (small h: two nearly equal numbers are subtracted),
  and why the bottom of the V is far lower in float64 than in float32;
- how `mg.autograd.gradcheck` compares a hand-written backward with central differences,
  and how to read its report when a backward is wrong;
- `mg.autograd.gradgradcheck`: second derivatives (WGAN-GP and R1 need them), and why a
  backward must be written with Tensor ops rather than raw arrays.

What to look at:
- fd_error.png: two V shapes (central differences). The bottom sits near h = eps^(1/3);
  the float32 curve sits orders of magnitude above the float64 one.
- fd_forward_vs_central.png: forward differences too; they bottom out near sqrt(eps),
  higher than central ones (slopes 1 and 2 on the right are the truncation orders).
- broken_backward.png: the derivative of x^3 as each backward reports it, against finite
  differences; the forgotten-chain-rule bug hides on the diagonal and shows off it.

Run it:
    python lessons/02_gradient_checking.py [--quick] [--out DIR] [--seed N] [--baseline]

--baseline takes the naive oracle instead, forward differences in float32: the closing
check (the oracle's error floor must be 10^4 times below the naive one) then fails.

It writes, under --out (default lessons/out/02_gradient_checking/): fd_error.png,
fd_forward_vs_central.png and broken_backward.png.
"""
import argparse
import os

import numpy as np

import minigan as mg
from minigan import viz
from minigan.autograd import GradcheckError

import claims

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer step sizes, smaller inputs")
parser.add_argument("--out", default="lessons/out/02_gradient_checking/")
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "forward differences in float32 as the oracle")
args = parser.parse_args()
claims.announce(args.baseline, "the oracle is forward differences in float32")
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
n_steps = 49 if args.quick else 193         # step sizes from 1e-14 to 1
n_inputs = 4 if args.quick else 8           # elements of the tensors we gradcheck


# --- 1. forward vs central differences, float32 vs float64 ---
# f = sin at x0 = 1, exact derivative cos(1). viz.finite_difference_errors does the central
# difference in a chosen dtype; the forward difference we write here, the same way.
def forward_difference_errors(f, df, x, steps, dtype):
    x_d = dtype(x)
    out = []
    for h in steps:
        h_d = dtype(h)
        estimate = (f(x_d + h_d) - f(x_d)) / h_d          # computed in `dtype` throughout
        out.append(abs(float(estimate) - df(1.0)))
    return np.asarray(out)


steps = np.logspace(-14, 0, n_steps)
errors = {}
for name, dtype in (("float32", np.float32), ("float64", np.float64)):
    errors[f"central, {name}"] = viz.finite_difference_errors(np.sin, np.cos, 1.0, steps, dtype)
    errors[f"forward, {name}"] = forward_difference_errors(np.sin, np.cos, 1.0, steps, dtype)
best, floor = {}, {}
for label, errs in errors.items():
    positive = np.where(errs > 0, errs, np.inf)
    i = int(np.argmin(positive))
    best[label] = (steps[i], positive[i])
    # The bottom of the V is noisy (a lucky rounding can hit the exact answer): the
    # geometric mean of the 5 smallest errors is a steadier measure of how low it goes.
    floor[label] = float(np.exp(np.log(np.sort(positive)[:5]).mean()))
    print(f"{label:17s} best h = {steps[i]:.1e}   error there = {positive[i]:.1e}   floor "
          f"{floor[label]:.1e}   error at h=1e-12: {errs[np.argmin(abs(steps - 1e-12))]:.1e}")
# Theory (eps = machine epsilon): forward best h ~ sqrt(eps), central best h ~ eps^(1/3).
for name, dtype in (("float32", np.float32), ("float64", np.float64)):
    eps = np.finfo(dtype).eps
    print(f"{name}: eps = {eps:.1e}, sqrt(eps) = {eps ** 0.5:.1e}, eps^(1/3) = {eps ** (1 / 3):.1e}")
central = {label: e for label, e in errors.items() if label.startswith("central")}
viz.plot_fd_error(steps, central, os.path.join(args.out, "fd_error.png"),
                  title="d/dx sin(x) at x=1, central differences: truncation (right) vs round-off (left)")
print("wrote", os.path.join(args.out, "fd_error.png"))

from matplotlib.figure import Figure  # noqa: E402  (plotting only)

fig = Figure(figsize=(7, 4.8))
ax = fig.add_subplot(1, 1, 1)
for i, (label, errs) in enumerate(errors.items()):
    ax.loglog(steps, np.where(errs > 0, errs, np.nan), ".-" if "central" in label else "x--",
              color=f"C{i}", markersize=4, label=f"{label} (best h = {best[label][0]:.0e})")
ax.loglog(steps, steps, color="grey", linewidth=0.8, linestyle=":", label="slope 1 (forward: error ~ h)")
ax.loglog(steps, steps ** 2, color="grey", linewidth=0.8, linestyle="-.", label="slope 2 (central: error ~ h²)")
ax.set_ylim(1e-14, 10)
ax.set_xlabel("step size h")
ax.set_ylabel("|finite difference - exact derivative|")
ax.set_title("Forward vs central differences of sin at x=1")
ax.legend(fontsize=8, loc="lower left")
ax.grid(True, which="both", alpha=0.3)
path = os.path.join(args.out, "fd_forward_vs_central.png")
fig.savefig(path, dpi=110, bbox_inches="tight")
print("wrote", path)


# --- 2. a Function with a hand-written backward, right and wrong ---
# forward runs on arrays; backward gets the incoming gradient as a Tensor and returns one
# gradient Tensor per input, written with Tensor ops so that it can be differentiated again.
class Cube(mg.Function):
    def forward(self, x):                  # x: a NumPy array
        return x ** 3

    def backward(self, grad_y):            # d(x^3)/dx = 3 x^2, times the incoming gradient
        x, = self.inputs
        return grad_y * 3 * x ** 2


class CubeForgotChainRule(mg.Function):
    """The classic slip: the local derivative, without multiplying by grad_y."""
    def forward(self, x):
        return x ** 3

    def backward(self, grad_y):
        x, = self.inputs
        return 3 * x ** 2                  # BUG: should be grad_y * 3 * x ** 2


class CubeWrongPower(mg.Function):
    """A wrong local derivative: the power rule misremembered."""
    def forward(self, x):
        return x ** 3

    def backward(self, grad_y):
        x, = self.inputs
        return grad_y * 3 * x              # BUG: should be 3 * x ** 2


x = mg.randn(n_inputs, dtype=mg.float64, requires_grad=True)     # (n_inputs,)
assert mg.autograd.gradcheck(Cube.apply, (x,)), "the correct Cube must pass gradcheck"
print(f"gradcheck(Cube) on {n_inputs} inputs: passed")

reports = {}
for broken in (CubeForgotChainRule, CubeWrongPower):
    try:
        mg.autograd.gradcheck(broken.apply, (x,))
        reports[broken.__name__] = None
    except GradcheckError as error:
        reports[broken.__name__] = str(error)
        print(f"gradcheck({broken.__name__}) raised GradcheckError:\n{error}")
# How to read a report: which function and input failed, the worst Jacobian entry with both
# values (analytical = your backward, numerical = finite differences), how many entries are
# off, and a hint when the pattern is a known mistake (ignoring grad_y).

# The same comparison as a picture: the Jacobian of an elementwise op is diagonal, and its
# diagonal is the derivative at each point.
grid = mg.linspace(-1.5, 1.5, 13 if args.quick else 31, dtype=mg.float64, requires_grad=True)
# jacobians returns ([numerical per input], [analytical per input]), each (outputs, inputs).
(numerical,), (analytical,) = mg.autograd.jacobians(Cube.apply, (grid,))   # (13, 13) each
analytical_of = {"Cube (correct)": analytical}
for broken in (CubeForgotChainRule, CubeWrongPower):
    analytical_of[broken.__name__] = mg.autograd.jacobians(broken.apply, (grid,))[1][0]
curves = {name: np.diag(jac) for name, jac in analytical_of.items()}

g = grid.detach().numpy()
forgot = analytical_of["CubeForgotChainRule"]                     # (13, 13)
fig = Figure(figsize=(12, 4.5))
ax = fig.add_subplot(1, 2, 1)
ax.plot(g, np.diag(numerical), color="black", linewidth=4, alpha=0.3,
        label="central differences (the oracle)")
for (label, values), style in zip(curves.items(), ("o-", "s--", "^:")):
    ax.plot(g, values, style, markersize=4, label=f"backward of {label}")
ax.set_xlabel("x")
ax.set_ylabel("d(x³)/dx: diagonal of the Jacobian")
ax.set_title("Diagonal of the Jacobian, as each backward reports it")
ax.legend()
ax.grid(alpha=0.3)
ax = fig.add_subplot(1, 2, 2)
image = ax.imshow(np.abs(forgot - numerical), cmap="magma")
fig.colorbar(image, ax=ax, label="|analytical - numerical|")
ax.set_xlabel("input element j")
ax.set_ylabel("output element k")
ax.set_title("CubeForgotChainRule: right diagonal,\nwrong everywhere else (it ignores grad_y)")
path = os.path.join(args.out, "broken_backward.png")
fig.savefig(path, dpi=110, bbox_inches="tight")
print("wrote", path)


# --- 3. second derivatives: gradgradcheck ---
# gradgradcheck checks x, v -> d<f(x), v>/dx with finite differences: the backward of the
# backward. Cube's backward is made of Tensor ops, so it differentiates: d2/dx2 = 6x.
class CubeBackwardOnArrays(mg.Function):
    """Right first derivative, but computed on NumPy arrays: the graph stops there."""
    def forward(self, x):
        return x ** 3

    def backward(self, grad_y):
        x, = self.inputs
        local = mg.from_numpy(3 * x.detach().numpy() ** 2)   # a constant: no path back to x
        return grad_y * local


assert mg.autograd.gradgradcheck(Cube.apply, (x,)), "Cube's backward must differentiate"
print("gradgradcheck(Cube): passed")
assert mg.autograd.gradcheck(CubeBackwardOnArrays.apply, (x,)), "first derivative is right"
print("gradcheck(CubeBackwardOnArrays): passed (first derivatives are right)")
try:
    mg.autograd.gradgradcheck(CubeBackwardOnArrays.apply, (x,))
    second_order_report = None
except GradcheckError as error:
    second_order_report = str(error)
    print(f"gradgradcheck(CubeBackwardOnArrays) raised GradcheckError:\n{error}")

# A real layer, for good measure: linear + tanh, first and second order.
w = mg.randn(n_inputs, 3, dtype=mg.float64, requires_grad=True)  # (n_inputs, 3)
layer = lambda x, w: mg.tanh(x.reshape(1, -1) @ w)                # (1, 3)  # noqa: E731
assert mg.autograd.gradcheck(layer, (x, w)) and mg.autograd.gradgradcheck(layer, (x, w)), \
    "tanh(x @ w) must pass both checks"
print("gradcheck + gradgradcheck(tanh(x @ w)): passed")

# --- 4. the claims ---
# The claim is about the oracle: central differences in float64 get 10^4x closer to the
# true derivative than the naive forward differences in float32 (the baseline).
oracle = "forward, float32" if args.baseline else "central, float64"
check = claims.ClaimCheck(args.baseline, "forward differences in float32")
check.lower(f"error floor of the oracle ({oracle})", floor[oracle], floor["forward, float32"],
            times=1e-4, at_most=1e-9, fmt=".1e")
for name, dtype in (("float32", np.float32), ("float64", np.float64)):
    eps = np.finfo(dtype).eps
    h = best[f"central, {name}"][0]
    # NOTE: the bottom of the V is noisy (round-off is luck of the draw), hence 100x margins.
    check.fact(f"central {name}: best step near eps^(1/3)",
               eps ** (1 / 3) / 100 < h < eps ** (1 / 3) * 100,
               f"best h {h:.1e}, eps^(1/3) = {eps ** (1 / 3):.1e}")
    margin = 100 if name == "float64" else 2
    check.fact(f"{name}: central {margin}x closer than forward",
               floor[f"central, {name}"] * margin < floor[f"forward, {name}"],
               f"{floor[f'central, {name}']:.1e} vs {floor[f'forward, {name}']:.1e}")
    tiny = errors[f"central, {name}"][np.argmin(abs(steps - 1e-12))]
    check.fact(f"{name}: round-off makes h=1e-12 100x worse than the best steps",
               tiny > 100 * floor[f"central, {name}"],
               f"{tiny:.1e} vs floor {floor[f'central, {name}']:.1e}")
check.fact("float32's best step is much larger than float64's",
           best["central, float32"][0] > 10 * best["central, float64"][0],
           f"{best['central, float32'][0]:.1e} vs {best['central, float64'][0]:.1e}")
for name, report in reports.items():
    check.fact(f"gradcheck catches {name}", report is not None, "GradcheckError raised"
               if report is not None else "it passed")
hinted = "incoming gradient" in (reports["CubeForgotChainRule"] or "")
check.fact("the report hints that the backward ignores its incoming gradient", hinted,
           "hint present" if hinted else "no such hint")
check.fact("gradgradcheck catches a backward computed on raw arrays",
           second_order_report is not None, "GradcheckError raised"
           if second_order_report is not None else "it passed")
check.done("central differences in float64 are the oracle, and gradcheck / gradgradcheck "
           "catch wrong backwards")

# --- Questions ---
# 1. Why is the best central-difference step near eps^(1/3), not as small as possible?
#    (Answer: truncation error falls like h^2, round-off grows like eps/h; their sum is
#    smallest where h^3 ~ eps.)
# 2. CubeBackwardOnArrays has the right first derivative. Why does gradgradcheck reject it?
#    (Answer: its local derivative is a constant made from a NumPy array, so the graph of
#    the backward stops there and the second derivative comes out 0 instead of 6x.)
#
# --- Try this ---
# 1. python lessons/02_gradient_checking.py --quick --baseline
#    Expect: the "oracle" is forward differences in float32, whose error floor is 2.7e-4
#    instead of 4e-12: the oracle check FAILS and the lesson exits with "claim fails".
# 2. In Cube.backward return grad_y * (3 * x ** 2 + 1e-5), then + 1e-3.
#    Expect: 1e-3 is caught, 1e-5 passes: gradcheck's tolerance is atol=1e-5 plus
#    rtol=1e-3 of the value. With mg.autograd.gradcheck(..., atol=1e-8, rtol=1e-7) the
#    1e-5 error is caught too, and the correct Cube still passes.
