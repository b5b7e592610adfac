"""Look at an autograd graph: as an indented text tree, or as Graphviz DOT.

Every Tensor made by a differentiable op remembers the node that made it (`.grad_fn`), and
every node its input Tensors (`.inputs`); leaves (parameters, data) have no grad_fn.
Walking from a tensor through these links is exactly what `backward` does, so printing the
walk shows what backward will visit. Node names follow PyTorch: the op `Mul` appears as
`MulBackward`.

A node used twice (a shared subexpression, or `x * x`) is drawn once and referred to by its
number afterwards: the graph is a DAG, not a tree. The walks are iterative, so a
100,000-op chain does not hit Python's recursion limit.
"""
import os
import shutil
import subprocess
import warnings

import numpy as np

# Tree-drawing pieces: branch to a child, branch to the last child, and the indents below.
_BRANCH, _LAST, _PIPE, _SPACE = "├── ", "└── ", "│   ", "    "


def _is_tensor(obj):
    from ..tensor import Tensor
    return isinstance(obj, Tensor)


def _children(node):
    """The nodes feeding `node`: each input's grad_fn, or the input itself for a leaf."""
    if _is_tensor(node):
        return []
    inputs = getattr(node, "inputs", None)   # NOTE: a node freed by backward lost its inputs
    if inputs is None:
        return []
    return [t.grad_fn if t.grad_fn is not None else t for t in inputs]


def _preorder(tensor, max_depth=None):
    """Walk the graph depth-first from `tensor` with an explicit stack (no recursion).

    Yields (node, number, parent_number, depth, prefix, is_last, first_time) per visit, in
    the order a tree printout lists them; a node is numbered (1, 2, ...) on its first visit
    and its inputs are only walked then (and only above `max_depth`).
    """
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor
    numbers = {}     # id(node) -> number; the nodes stay alive in the graph while we walk
    stack = [(root, None, 0, "", True)]
    while stack:
        node, parent, depth, prefix, is_last = stack.pop()
        first = id(node) not in numbers
        if first:
            numbers[id(node)] = len(numbers) + 1
        yield node, numbers[id(node)], parent, depth, prefix, is_last, first
        if first and (max_depth is None or depth < max_depth):
            kids = _children(node)
            child_prefix = prefix + (_SPACE if is_last else _PIPE) if depth > 0 else ""
            # Pushed in reverse so that the first input is printed first.
            for i in reversed(range(len(kids))):
                stack.append((kids[i], numbers[id(node)], depth + 1, child_prefix,
                              i == len(kids) - 1))


def _describe(node, names):
    """(label, details) of a node: "MulBackward", " -> shape=(3, 1)"; "leaf w", " shape=..."."""
    if _is_tensor(node):
        name = names.get(id(node))
        label = ("leaf" if node.requires_grad else "tensor") + (f" {name}" if name else "")
        return label, (f" shape={tuple(node.shape)} dtype={_dtype_name(node.dtype)} "
                       f"requires_grad={node.requires_grad}")
    label = f"{node.name}Backward"
    if getattr(node, "_freed", False):
        return label, " (freed: run backward with retain_graph=True to keep the graph)"
    ref = getattr(node, "_output_ref", None)
    out = ref() if ref is not None else None
    return label, (f" -> shape={tuple(out.shape)}" if out is not None else "")


def _dtype_name(dtype):
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


def _names(params):
    """id(tensor) -> name from a {name: Tensor} dict (e.g. dict(model.named_parameters()))."""
    return {id(t): name for name, t in (params or {}).items()}


def graph_text(tensor, params=None, max_depth=None):
    """The autograd graph behind `tensor` as an indented text tree.

    params: optional {name: Tensor} to name the leaves (dict(model.named_parameters())).
    max_depth: do not expand nodes deeper than this (None: the whole graph). The view is then
    truncated: a node first met at the cut is not expanded where it appears again above.

        >>> x = minigan.tensor([1.0, 2.0], requires_grad=True)
        >>> print(graph_text((x * x).sum(), params={"x": x}))
        SumBackward #1 -> shape=()
        └── MulBackward #2 -> shape=(2,)
            ├── leaf x #3 shape=(2,) dtype=float32 requires_grad=True
            └── leaf x #3 (shown above)
    """
    names = _names(params)
    lines = []
    for node, number, _, depth, prefix, is_last, first in _preorder(tensor, max_depth):
        branch = "" if depth == 0 else prefix + (_LAST if is_last else _BRANCH)
        label, details = _describe(node, names)
        if not first:
            lines.append(f"{branch}{label} #{number} (shown above)")
        elif max_depth is not None and depth == max_depth and _children(node):
            lines.append(f"{branch}{label} #{number}{details} ... (max_depth reached)")
        else:
            lines.append(f"{branch}{label} #{number}{details}")
    return "\n".join(lines)


def _dot_quote(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def graph_dot(tensor, params=None):
    """Graphviz DOT source for the autograd graph behind `tensor` (a string; no graphviz needed).

    Boxes are op nodes (the output's node highlighted), blue ellipses leaves that require
    grad, grey ellipses other tensors (constants). Arrows follow the forward computation,
    input -> op; backward walks them in reverse. Render with `dot -Tpng graph.dot -o graph.png`.

        >>> src = graph_dot(loss, params=dict(model.named_parameters()))
        >>> src.splitlines()[0]
        'digraph autograd {'
    """
    names = _names(params)
    lines = ["digraph autograd {",
             '  node [fontname="Helvetica", fontsize=10];']
    edges = []
    for node, number, parent, _, _, _, first in _preorder(tensor):
        if first:
            if _is_tensor(node):
                label = names.get(id(node), "leaf" if node.requires_grad else "tensor")
                label += f"\n{tuple(node.shape)}"
                fill = "lightblue" if node.requires_grad else "lightgrey"
                style = f"shape=ellipse, style=filled, fillcolor={fill}"
            else:
                label, details = _describe(node, names)
                label += details.replace(" -> shape=", "\n")
                fill = "orange" if number == 1 else "white"
                style = f"shape=box, style=filled, fillcolor={fill}"
            lines.append(f"  n{number} [label={_dot_quote(label)}, {style}];")
        if parent is not None:
            edges.append(f"  n{number} -> n{parent};")
    return "\n".join(lines + edges + ["}"]) + "\n"


def save_graph(tensor, path, params=None):
    """Write the graph of `tensor` as `<base>.dot` and `<base>.txt`, and render it if possible.

    `path` is the base name, with or without an extension (.dot, .txt, .png, .svg, .pdf);
    the extension picks the rendered format (PNG by default). Rendering needs the Graphviz
    `dot` program on PATH; without it only the DOT and text files are written.
    Returns the list of written paths.

        >>> save_graph(penalty, "plots/gp_graph.svg")
        ['plots/gp_graph.dot', 'plots/gp_graph.txt', 'plots/gp_graph.svg']
    """
    from ._common import prepare_path
    base, ext = os.path.splitext(os.fspath(path))
    if ext.lower() not in (".dot", ".txt", ".png", ".svg", ".pdf"):
        base, ext = os.fspath(path), ""
    fmt = ext.lower().lstrip(".") if ext.lower() in (".png", ".svg", ".pdf") else "png"
    dot_path, txt_path = prepare_path(base + ".dot"), base + ".txt"
    with open(dot_path, "w", encoding="utf-8") as f:
        f.write(graph_dot(tensor, params))
    with open(txt_path, "w", encoding="utf-8") as f:
        f.write(graph_text(tensor, params) + "\n")
    written = [dot_path, txt_path]
    dot = shutil.which("dot")
    if dot is not None:
        out_path = f"{base}.{fmt}"
        result = subprocess.run([dot, f"-T{fmt}", dot_path, "-o", out_path],
                                capture_output=True, text=True)
        if result.returncode == 0:
            written.append(out_path)
        else:
            warnings.warn(f"save_graph: `dot` failed to render {dot_path}: {result.stderr.strip()}")
    return written
