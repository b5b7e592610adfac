"""Exercise 2: the backward of a matrix product whose batch dimensions broadcast."""
import numpy as np

from .checking import Case, Exercise, check_backward

HINTS = (
    "Forget the batch dims first. For plain matrices y = a @ b, y[i, j] = sum_k a[i, k] * "
    "b[k, j]: which elements of y does a[i, k] touch, and with what factor?",
    "dL/da = grad_y @ b^T and dL/db = a^T @ grad_y. t.mT swaps the last two dims, so it "
    "works on stacks of matrices too.",
    "Those products have the broadcast batch shape. Where an input had a missing leading "
    "dim, or a dim of size 1, it was reused for every slice: add up its gradient over that "
    "dim, with t.sum(dim=...) (keepdim=True for the size-1 dims).",
)

SOLUTION = """\
dL/da = grad_y @ b^T,   dL/db = a^T @ grad_y,   each summed to its input's shape

    def backward(self, grad_y):
        a, b = self.inputs
        grad_a = grad_y @ b.mT                # (..., n, m) @ (..., m, k) -> (..., n, k)
        grad_b = a.mT @ grad_y                # (..., k, n) @ (..., n, m) -> (..., k, m)
        return sum_to_shape(grad_a, a.shape), sum_to_shape(grad_b, b.shape)

sum_to_shape sums over the leading dims the input lacks, then (keepdim=True) over the dims
where the input has size 1 (see solutions/matmul_broadcast.py)."""

SHAPE = ("did you sum over the broadcast dimensions? A leading dim the input lacks is "
         "summed away; a dim where it has size 1 is summed with keepdim=True")


def check(module):
    rng = np.random.default_rng(1)
    shapes = [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (4, 3, 2)),
              ((4, 1, 2, 3), (3, 3, 2))]
    cases = [Case(f"a of shape {sa} @ b of shape {sb}",
                  [rng.standard_normal(sa), rng.standard_normal(sb)], ["a", "b"])
             for sa, sb in shapes]
    return check_backward(module.MatMul, cases, shape_look_at=SHAPE)


EXERCISE = Exercise("matmul_broadcast", "backward of a matmul with broadcast batch dims",
                    "MatMul", "MatMul.backward", HINTS, SOLUTION, check)
