"""Argument types that validate at parse time: a bad value is a one-line error before any
work starts ("--steps must be an integer of at least 1, got -5")."""
import argparse
import math


class CLIError(Exception):
    """A user error the command reports in one line (`minigan: error: ...`, exit 2)."""


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None


def at_least(low):
    """An integer >= low (steps, batch sizes, intervals: at least 1; a seed: at least 0)."""
    def parse(text):
        value = _number(text, int)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer of at least {low}, got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


def positive_float(text):
    """A finite number above 0 (learning rates, epochs)."""
    value = _number(text, float)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def non_negative_float(text):
    """A finite number of at least 0 (loss weights)."""
    value = _number(text, float)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {text}")
    return value


def decay(text):
    """An EMA decay in [0, 1): 0 turns the average off."""
    value = _number(text, float)
    if not (0 <= value < 1):
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (0 turns the average off), got {text}")
    return value


def labels(text):
    """Comma-separated class indices, e.g. 0,1,2."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated digits such as 0,1,2, "
                                         f"got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one label, e.g. 0,1,2")
    return values


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(2, f"minigan: error: {message} (see `{self.prog} --help`)\n")
