"""Reverse-mode automatic differentiation: the engine that walks the graph backwards.

`Tensor.backward()` and `autograd.grad()` both call `run_backward`, which
1. sorts the graph's nodes so each runs after every node that feeds it a gradient
   (an iterative depth-first search: no recursion limit, a 100,000-op chain is fine);
2. calls each node's `backward` once, with the sum of the gradients flowing into it;
3. hands gradients to leaves (`.grad`, accumulated) or returns them (`autograd.grad`).
Without `create_graph` it runs under `no_grad`, so the backward pass records nothing.
The graph's edges are each node's `next_nodes`, fixed when the node ran forward; before a
node's backward runs, it checks that nothing it reads was changed in place since.
"""
from .. import grad_mode
from ..function import Function
from ..tensor import Tensor, new_tensor

__all__ = ["backward", "grad", "run_backward"]


def _node(tensor):
    """Where a tensor's gradient is gathered: its grad_fn, or the leaf tensor itself."""
    return tensor.grad_fn if tensor.grad_fn is not None else tensor


def _topological_order(roots, needed=None):
    """Function nodes reachable from `roots`, each before the nodes it feeds (iterative DFS).

    With `needed` (a set of nodes), keep only the nodes from which one of them is reachable:
    autograd.grad(D(x), x) then skips the weight gradients nobody asked for.
    Returns (order, useful): `useful` is the set of kept nodes.
    """
    order, state = [], {}      # state: 1 = on the stack, 2 = done
    stack = [(fn, False) for fn in roots]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            state[fn] = 2
            order.append(fn)
            continue
        if fn in state:
            continue
        if fn._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time.")
        state[fn] = 1
        stack.append((fn, True))
        for node in fn.next_nodes:
            if isinstance(node, Function) and node not in state:
                stack.append((node, False))
    # `order` is a post-order: every node comes after the nodes that feed it.
    if needed is None:
        useful = set(order)
    else:
        useful = set()
        for fn in order:
            if fn in needed or any(node in needed or node in useful
                                   for node in fn.next_nodes if node is not None):
                useful.add(fn)
    order.reverse()            # outputs first
    return [fn for fn in order if fn in useful], useful


def run_backward(outputs, grad_outputs, inputs=None, retain_graph=False, create_graph=False):
    """Propagate `grad_outputs` from `outputs` back through the graph.

    inputs=None: add gradients into the leaves' `.grad` (Tensor.backward).
    inputs given: return their gradients (autograd.grad); `.grad` is left untouched.
    """
    grads = {}                 # node -> gradient Tensor gathered so far
    for out, g in zip(outputs, grad_outputs):
        node = _node(out)
        grads[node] = g if node not in grads else grads[node] + g

    roots = [out.grad_fn for out in outputs if out.grad_fn is not None]
    needed = None if inputs is None else {_node(t) for t in inputs}
    order, useful = _topological_order(roots, needed)

    with grad_mode.set_grad_enabled(create_graph):
        for fn in order:
            # Gradients of requested non-leaf inputs stay in `grads` to be returned.
            grad_y = grads.get(fn) if needed is not None and fn in needed else grads.pop(fn, None)
            if grad_y is not None:
                # Tell backward which inputs want a gradient, so it can skip the others.
                fn.needs_input_grad = tuple(
                    node is not None and (needed is None or node in needed or node in useful)
                    for node in fn.next_nodes)
                fn.check_saved_versions()
                input_grads = fn.backward(grad_y)
                if not isinstance(input_grads, tuple):
                    input_grads = (input_grads,)
                if len(input_grads) != len(fn.inputs):
                    raise RuntimeError(f"{fn.name}.backward returned {len(input_grads)} "
                                       f"gradients for {len(fn.inputs)} inputs")
                for t, node, g, wanted in zip(fn.inputs, fn.next_nodes, input_grads,
                                              fn.needs_input_grad):
                    if g is None or not wanted:
                        continue
                    if g.shape != t.shape:       # undo broadcasting: sum over expanded dims
                        g = g.sum_to(t.shape)
                    grads[node] = g if node not in grads else grads[node] + g
        if not retain_graph:
            # Only after the whole pass: a node's backward may still need an output tensor
            # that only an already-processed node was keeping alive.
            for fn in order:
                fn.release()

        if inputs is None:
            for node, g in grads.items():
                if isinstance(node, Tensor):
                    node._accumulate_grad(g, create_graph)
            return None
        return [grads.get(_node(t)) for t in inputs]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of `tensors` into the leaves' `.grad` (as PyTorch)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    grad_tensors = [_default_grad(t, g, "backward") for t, g in zip(tensors, grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, grad_tensors, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple; `.grad` untouched.

    With create_graph=True the gradients are themselves differentiable (WGAN-GP, R1).
    only_inputs is accepted for old PyTorch code and ignored, as PyTorch does: only the
    inputs' gradients are ever computed and returned.
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    grad_outputs = [_default_grad(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"autograd.grad: output {i} does not require grad and has no grad_fn")
    result = run_backward(outputs, grad_outputs, inputs=inputs, retain_graph=retain_graph,
                          create_graph=create_graph)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {i} (shape {tuple(inputs[i].shape)}) was not "
                               "used in the graph of the outputs; pass allow_unused=True if "
                               "that is expected")
        if g is not None and not create_graph:
            result[i] = g.detach()
    return tuple(result)


def _default_grad(out, g, who):
    if not out.requires_grad:
        raise RuntimeError(f"{who}: element 0 of tensors does not require grad and does not have "
                           "a grad_fn (did you compute it under no_grad, or from tensors that do "
                           "not require grad?)")
    if g is None:
        if out.numel() != 1:
            raise RuntimeError(f"{who}: grad can be implicitly created only for scalar outputs; "
                               f"this output has shape {tuple(out.shape)}: pass a `gradient` of "
                               "that shape")
        return Tensor._wrap(out._xp.ones_like(out._data))
    if not isinstance(g, Tensor):
        g = new_tensor(g, out.dtype, out.device)
    if g.shape != out.shape:
        raise RuntimeError(f"{who}: gradient has shape {tuple(g.shape)} but the output has shape "
                           f"{tuple(out.shape)}")
    return g
