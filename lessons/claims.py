"""The closing check of every lesson: a claim, measured against the baseline it is about.

A lesson claims that something learned: G's samples moved onto the ring, D approaches
p / (p + q), a fix covers more modes than the collapsed run. Such a claim means little
unless the same check FAILS for a model that learned nothing. So every lesson

  * measures its claim next to a do-nothing baseline (an untrained G, zero steps, mean
    fill, L1 only, no translation, the collapsed run) and prints both numbers;
  * accepts `--baseline`, which runs the do-nothing variant IN PLACE of the real thing:
    the same check then compares the baseline with itself, fails, and the lesson exits
    with a non-zero status and a line that starts with "claim fails".

    >>> check = ClaimCheck(baseline_mode=False, baseline="an untrained G")
    >>> check.lower("mean distance to the nearest mode", 0.21, 0.88, times=0.5)
    >>> check.done("the loop moved G onto the ring")    # prints "claim holds: ..." or exits 1

tests/test_lessons.py runs every lesson both ways: `--quick` must hold, `--quick --baseline`
must fail.
"""
import sys


def add_baseline_flag(parser, what):
    """`--baseline`: run the do-nothing variant `what`; the closing check must then fail."""
    parser.add_argument("--baseline", action="store_true",
                        help=f"run the do-nothing baseline instead ({what}); the closing "
                             "check then fails, as it must")


def announce(baseline_mode, what):
    """Say at the start of a --baseline run what replaces the real thing."""
    if baseline_mode:
        print(f"--baseline: {what}. The closing check compares the baseline with itself "
              "and must fail.")


class ClaimCheck:
    """Collects the closing checks, prints each with its baseline, and exits 1 on a failure.

    baseline_mode: True under --baseline (only changes the wording of the verdict).
    baseline: what the do-nothing baseline is, in words ("an untrained G").
    """

    def __init__(self, baseline_mode, baseline):
        self.baseline_mode = baseline_mode
        self.baseline = baseline
        self.failures = []

    def _record(self, what, ok, line):
        print(f"  [{'holds' if ok else 'FAILS'}] {what}: {line}")
        if not ok:
            self.failures.append(f"{what}: {line}")

    def higher(self, what, value, baseline, by=0.0, times=1.0, at_least=None, fmt=".3g",
               against=None):
        """Holds if value >= times * baseline + by (and >= at_least, when given).

        against: names this check's baseline when it is not the lesson's main one."""
        need = times * baseline + by
        if at_least is not None:
            need = max(need, at_least)
        rule = _rule(">=", baseline, by, times, at_least, fmt)
        self._record(what, value >= need,
                     f"{_fmt(value, fmt)} vs baseline {_fmt(baseline, fmt)} "
                     f"({against or self.baseline}); needs {rule} = {_fmt(need, fmt)}")

    def lower(self, what, value, baseline, by=0.0, times=1.0, at_most=None, fmt=".3g",
              against=None):
        """Holds if value <= times * baseline - by (and <= at_most, when given)."""
        need = times * baseline - by
        if at_most is not None:
            need = min(need, at_most)
        rule = _rule("<=", baseline, -by, times, at_most, fmt)
        self._record(what, value <= need,
                     f"{_fmt(value, fmt)} vs baseline {_fmt(baseline, fmt)} "
                     f"({against or self.baseline}); needs {rule} = {_fmt(need, fmt)}")

    def fact(self, what, ok, detail):
        """A check with no baseline (the explicit loop equals the library, say)."""
        self._record(what, bool(ok), detail)

    def pending(self, what, value, baseline, fmt=".3g", against=None):
        """Printed, not checked: a comparison whose threshold is still to be set."""
        print(f"  [pending] {what}: {_fmt(value, fmt)} vs baseline {_fmt(baseline, fmt)} "
              f"({against or self.baseline}); threshold not set yet, not checked")

    def done(self, claim):
        """Print "claim holds: <claim>", or "claim fails: ..." and exit with status 1."""
        if not self.failures:
            print(f"claim holds: {claim}")
            return
        why = ("as it must: --baseline ran the do-nothing variant" if self.baseline_mode
               else "the lesson did not show what it teaches")
        print(f"claim fails ({why}): {claim}")
        for failure in self.failures:
            print(f"  {failure}")
        sys.stdout.flush()
        sys.exit(1)


def _fmt(x, fmt):
    """Format a number; fmt "d" rounds to an integer first (a need of 6.0 modes prints 6)."""
    return format(int(round(x)) if fmt == "d" else x, fmt)


def _rule(op, baseline, by, times, bound, fmt):
    """The rule in words, e.g. '>= max(6, baseline + 4)'."""
    relative = "baseline" if times == 1 else f"{times:g} x baseline"
    if by:
        relative += f" {'+' if by > 0 else '-'} {_fmt(abs(by), fmt)}"
    if bound is None:
        return f"{op} {relative}"
    return f"{op} {'max' if op == '>=' else 'min'}({relative}, {_fmt(bound, fmt)})"
