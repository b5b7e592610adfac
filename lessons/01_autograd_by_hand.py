"""Lesson 01: autograd by hand, then by the engine.

What you will learn:
- a computation is a graph of small operations; backward walks it from the output to the
  inputs, multiplying local derivatives (the chain rule) and ADDING the contributions of a
  value that is used twice;
- how to work out those derivatives with pencil and paper, and that minigan's `.grad` gives
  the same numbers;
- that one backward pass over a whole batch of points gives the derivative at every point
  (for an elementwise function), which is how we draw f and f' below.

What to look at:
- the printed graph (also in graph.txt / graph.dot): each `...Backward` node is an op, each
  leaf a tensor you asked gradients for; `a` appears twice because it is used twice;
- function_and_derivative.png: f(x) = x * tanh(x) and its derivative. The hand-derived
  formula (line) and the engine's `.grad` (dots) lie on top of each other.

Run it:
    python lessons/01_autograd_by_hand.py [--quick] [--out DIR] [--seed N] [--baseline]

--baseline runs the classic slip instead: the hand derivation forgets that the paths of a
value used twice ADD (it keeps one path only). The closing check then fails, as it must.

It writes, under --out (default lessons/out/01_autograd_by_hand/): graph.txt and graph.dot
(render with `dot -Tpng graph.dot -o graph.png` if Graphviz is installed; graph.png is
written directly when it is), and function_and_derivative.png.
"""
import argparse
import math
import os

import numpy as np

import minigan as mg
from minigan import viz

import claims

# --- config ---
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer points on the curve")
parser.add_argument("--out", default="lessons/out/01_autograd_by_hand/")
parser.add_argument("--seed", type=int, default=0)
claims.add_baseline_flag(parser, "a chain rule that forgets to add the second path")
args = parser.parse_args()
claims.announce(args.baseline, "the hand derivatives keep one path of a value used twice")
os.makedirs(args.out, exist_ok=True)
mg.manual_seed(args.seed)
n_points = 41 if args.quick else 401        # points on the plotted curve

# --- 1. a small graph, by hand ---
# L = tanh(a*b + a*a) / 2 + b      with a = 0.5, b = -1.5 (float64 so the numbers match closely)
# Forward, one named value per op:
#   c = a * b            = -0.75
#   d = a * a            =  0.25
#   e = c + d            = -0.5
#   t = tanh(e)
#   L = t / 2 + b
# Backward: start from dL/dL = 1 and multiply local derivatives on the way back.
#   dL/dt = 1/2
#   dL/de = dL/dt * (1 - t^2)                   (tanh' = 1 - tanh^2)
#   dL/dc = dL/de * 1,   dL/dd = dL/de * 1      (a sum passes its gradient to both inputs)
#   dL/da = dL/dc * b + dL/dd * 2a              (a feeds two ops: the two paths ADD)
#   dL/db = dL/dc * a + 1                       (b feeds c and, directly, L)
a_val, b_val = 0.5, -1.5
e_val = a_val * b_val + a_val * a_val
t_val = math.tanh(e_val)
dL_de = 0.5 * (1 - t_val ** 2)
hand = {"a": dL_de * (b_val + 2 * a_val), "b": dL_de * a_val + 1.0}
# The slip this lesson guards against: keep only the path through c, as if `a` fed one op.
one_path = {"a": dL_de * b_val, "b": dL_de * a_val + 1.0}
if args.baseline:
    hand = one_path
print(f"hand:   dL/da = {hand['a']:+.10f}   dL/db = {hand['b']:+.10f}")

# --- 2. the same graph, by the engine ---
a = mg.tensor(a_val, dtype=mg.float64, requires_grad=True)
b = mg.tensor(b_val, dtype=mg.float64, requires_grad=True)
c = a * b
d = a * a
L = mg.tanh(c + d) / 2 + b                  # () : a scalar, so backward needs no argument
print("the graph backward will walk (output first):")
print(viz.graph_text(L, params={"a": a, "b": b}))
written = viz.save_graph(L, os.path.join(args.out, "graph"), params={"a": a, "b": b})
print("wrote", ", ".join(written))

L.backward()                                # fills a.grad and b.grad (leaves only)
engine = {"a": a.grad.item(), "b": b.grad.item()}
print(f"engine: dL/da = {engine['a']:+.10f}   dL/db = {engine['b']:+.10f}")
for name in ("a", "b"):
    print(f"  {name}: |hand - engine| = {abs(hand[name] - engine[name]):.2e}")

# Gradients ACCUMULATE into .grad (as in PyTorch): a second backward adds to the first.
# That is why training loops call optimizer.zero_grad() every step.
L2 = mg.tanh(a * b + a * a) / 2 + b
L2.backward()
print(f"after a second backward without zeroing: a.grad = {a.grad.item():+.10f} "
      f"(= 2 x {engine['a']:+.10f})")
accumulated = a.grad.item()
a.grad = None
b.grad = None

# --- 3. a whole curve in one backward ---
# f(x) = x * tanh(x);   by hand: f'(x) = tanh(x) + x * (1 - tanh(x)^2)
# Each output element depends only on its own input element, so the gradient of sum(f(x))
# with respect to x[i] is exactly f'(x[i]): one backward gives the derivative everywhere.
x = mg.linspace(-3.0, 3.0, n_points, dtype=mg.float64, requires_grad=True)   # (n_points,)
f = x * mg.tanh(x)                                                            # (n_points,)
f.sum().backward()
xs = x.detach().numpy()
engine_df = x.grad.numpy()
# x is used twice (x and tanh(x)): the product rule is the two paths adding.
hand_df = np.tanh(xs) + xs * (1 - np.tanh(xs) ** 2)
one_path_df = np.tanh(xs)                                # the slip: the path through tanh dropped
if args.baseline:
    hand_df = one_path_df
curve_error = float(np.abs(engine_df - hand_df).max())
one_path_curve_error = float(np.abs(engine_df - one_path_df).max())
print(f"f(x) = x tanh(x) on {n_points} points: max |hand f' - engine f'| = {curve_error:.2e}")

# --- 4. the figure ---
from matplotlib.figure import Figure  # noqa: E402  (plotting only)

fine = np.linspace(-3, 3, 401)
fig = Figure(figsize=(7.5, 4.5))
ax = fig.add_subplot(1, 1, 1)
ax.plot(fine, fine * np.tanh(fine), color="tab:blue", label="f(x) = x tanh(x)")
ax.plot(fine, np.tanh(fine) + fine * (1 - np.tanh(fine) ** 2), color="tab:orange",
        label="f'(x) by hand: tanh x + x (1 - tanh² x)")
step = max(1, n_points // 25)
ax.plot(xs[::step], engine_df[::step], "o", color="black", markersize=4,
        markerfacecolor="none", label="f'(x) from the engine (x.grad)")
ax.axhline(0, color="grey", linewidth=0.6)
ax.set_xlabel("x")
ax.set_ylabel("value")
ax.set_title("One backward through sum(f(x)) gives f'(x) at every point")
ax.legend(loc="upper center")
ax.grid(alpha=0.3)
path = os.path.join(args.out, "function_and_derivative.png")
fig.savefig(path, dpi=110, bbox_inches="tight")
print("wrote", path)

# --- 5. the claim ---
# The baseline is the one-path chain rule: if the engine only matched THAT, the lesson
# would have taught the wrong rule.
check = claims.ClaimCheck(args.baseline, "the chain rule without adding paths")
gap = max(abs(hand[name] - engine[name]) for name in ("a", "b"))
one_path_gap = max(abs(one_path[name] - engine[name]) for name in ("a", "b"))
check.lower("max |hand - engine| of dL/da, dL/db", gap, one_path_gap, at_most=1e-12, fmt=".2e")
check.lower("max |hand f' - engine f'| on the curve", curve_error, one_path_curve_error,
            at_most=1e-12, fmt=".2e")
check.fact("a second backward doubles a.grad", abs(accumulated - 2 * engine["a"]) < 1e-12,
           f"{accumulated:+.10f} vs 2 x {engine['a']:+.10f}")
check.done("the engine's gradients are the hand-derived chain rule (paths add), to float64 "
           "precision")

# --- Questions ---
# 1. Why does a second backward without zero_grad() double a.grad instead of replacing it?
#    (Answer: .grad ACCUMULATES, so that a value used in several losses sums their
#    gradients; training loops clear it with zero_grad() every step.)
# 2. In f(x) = x * tanh(x), x is used twice. Where do the two paths appear in f'(x)?
#    (Answer: tanh(x) is the path through the left factor, x * (1 - tanh(x)^2) the one
#    through tanh; the chain rule adds them.)
# 3. Why can one backward through sum(f(x)) give f'(x) at all 41 points at once?
#    (Answer: each output depends only on its own input, so the Jacobian is diagonal and
#    d sum / d x_i = f'(x_i).)
#
# --- Try this ---
# 1. python lessons/01_autograd_by_hand.py --quick --baseline
#    Expect: the "hand" derivatives keep one path only; dL/da is off by 0.39 and f' by
#    0.45, both checks print FAILS and the lesson exits with "claim fails".
# 2. In section 2 change the graph (L and L2) to tanh(a*b + a*a*a) / 2 + b.
#    Expect: the check FAILS: the hand formulas of section 1 still describe the old graph
#    (dL/da is off by 0.06). Redo them (e = ab + a^3, a's second path is 3a^2) and it
#    holds again.
