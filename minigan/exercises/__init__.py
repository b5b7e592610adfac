"""Exercises: the learner writes a backward, a loss, a penalty or a training step; a check
runs it, and teaches before it tells.

    minigan exercise list
    minigan exercise check sigmoid                   # lessons/exercises/sigmoid.py
    minigan exercise check sigmoid --hint            # ... and the next graded hint
    minigan exercise check sigmoid --solution        # ... and the formula
    minigan exercise check batch_norm --file my_bn.py

A failed check says which input and which elements are wrong, with the expected numbers
against the learner's, and what to look at when the numbers match a known mistake; it
never prints the formula. `--hint` gives hint 1, then 2, ...; `--solution` the formula.

One module per exercise holds its check, its graded hints and its solution; `checking.py`
holds what they share (central differences, gradcheck and gradgradcheck, the element
table); `runner.py` the registry, the loading of the learner's file and the hints' memory.
The exercises use minigan as a learner does (nn, optim, autograd, gan losses): this
package sits above the GAN toolkit, and only minigan.cli imports it.
"""
from .checking import Exercise
from .runner import EXERCISES, Report, check, exercise_path, hint, solution

__all__ = ["EXERCISES", "Exercise", "Report", "check", "exercise_path", "hint", "solution"]
