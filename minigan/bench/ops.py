"""Per-operation overhead of the engine: a small MLP, forward + backward, batch 64.

The arrays are tiny, so the time is almost all Python: graph bookkeeping, dispatch and
type promotion. Run: `minigan bench ops`.
"""
import time

import minigan as mg


def mlp_step(x, weights):
    """Forward + backward of a 3-layer MLP built from raw tensor ops; returns the loss."""
    h = x
    for i, (w, b) in enumerate(weights):
        h = h @ w + b
        if i < len(weights) - 1:
            h = mg.leaky_relu(h, 0.2)
    loss = (h * h).mean()
    loss.backward()
    return loss


def count_nodes(tensor):
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(t.grad_fn for t in fn.inputs)
    return len(seen)


def run(batch=64, width=64, repeat=300):
    """Print and return (seconds per step, ops in the graph)."""
    mg.manual_seed(0)
    sizes = [2, width, width, 1]
    weights = [(mg.randn(a, b, requires_grad=True), mg.zeros(b, requires_grad=True))
               for a, b in zip(sizes[:-1], sizes[1:])]
    x = mg.randn(batch, 2)
    h = x
    for i, (w, b) in enumerate(weights):
        h = h @ w + b
        h = mg.leaky_relu(h, 0.2) if i < 2 else h
    nodes = count_nodes((h * h).mean())
    for _ in range(20):
        mlp_step(x, weights)
    start = time.perf_counter()
    for _ in range(repeat):
        mlp_step(x, weights)
    per_step = (time.perf_counter() - start) / repeat
    print(f"MLP {sizes}, batch {batch}: {per_step * 1e6:.1f} us per forward+backward, "
          f"{nodes} ops in the graph -> {per_step * 1e6 / nodes:.1f} us per op (forward and "
          f"backward together)")
    return per_step, nodes
