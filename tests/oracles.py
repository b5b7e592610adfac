"""Oracles shared by the tests: the slow, obviously-correct versions that fast code and
hand-written backwards are checked against."""
