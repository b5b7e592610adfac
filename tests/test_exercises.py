"""The exercise checker fails every untouched stub and a plausible wrong answer, and passes
every reference solution; the command line returns the right exit status."""
import pathlib
import subprocess
import sys

import pytest

from minigan import exercises

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUBS = ROOT / "lessons" / "exercises"
SOLUTIONS = STUBS / "solutions"
NAMES = list(exercises.EXERCISES)

# name -> [(what the learner got wrong, text in the solution, its wrong replacement,
#           words the report must contain)]
WRONG = {
    "sigmoid": [
        ("forgot grad_y", "return grad_y * y * (1 - y)", "return y * (1 - y)", "grad_y"),
        ("used x for s(x)", "return grad_y * y * (1 - y)",
         "x, = self.inputs\n        return grad_y * x * (1 - x)", "self.output"),
    ],
    "matmul_broadcast": [
        ("no sum over broadcast dims", "return sum_to_shape(grad_a, a.shape), sum_to_shape(grad_b, b.shape)",
         "return grad_a, grad_b", "broadcast dimensions"),
        ("missing transpose", "grad_y @ b.mT", "grad_y @ b", "raised"),
    ],
    "bce_with_logits": [
        ("no target gradient", "return grad_x, grad_t", "return grad_x, None", "target"),
        ("sign of the target term", "(mg.sigmoid(x) - t)", "(mg.sigmoid(x) + t)", "sigmoid(x) - t"),
    ],
    "conv2d_weight_grad": [
        ("mean over the batch", "(gy @ cols.mT).sum(0)", "(gy @ cols.mT).mean(0)", "not a mean"),
    ],
    "batch_norm": [
        ("no mean/variance terms", """(
            g - g.mean(dim=dims, keepdim=True)                          # the path through mu
            - x_hat * (g * x_hat).mean(dim=dims, keepdim=True))""", "g",
         "through the mean and variance"),
        ("statistics saved as constants", "x_hat = (x - mu) * inv_std",
         "x_hat = ((x - mu) * inv_std).detach()", "gradgradcheck"),
    ],
    "gradient_penalty": [
        ("create_graph missing", "x_hat, create_graph=True)", "x_hat)", "create_graph=True"),
        ("norm over the whole batch", "grads.flatten(1).norm(dim=1)", "grads.norm()",
         "PER SAMPLE"),
    ],
}


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_is_not_done(name):
    report = exercises.check(name, STUBS / f"{name}.py")
    assert not report and report.status == "not done", str(report)
    text = str(report)
    assert "NOT DONE YET" in text and "hint:" in text, text


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name):
    report = exercises.check(name, SOLUTIONS / f"{name}.py")
    assert report and report.status == "passed", str(report)


CASES = [(name, *case) for name, cases in WRONG.items() for case in cases]


@pytest.mark.parametrize("name, mistake, right, wrong, words", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_plausible_wrong_answer_fails_with_a_report_that_teaches(name, mistake, right, wrong,
                                                                 words, tmp_path):
    source = (SOLUTIONS / f"{name}.py").read_text()
    assert source.count(right) == 1, f"the test's edit no longer matches {name}'s solution"
    path = tmp_path / f"{name}.py"
    path.write_text(source.replace(right, wrong))
    report = exercises.check(name, path)
    assert not report and report.status == "failed", f"{mistake}: {report}"
    assert words in str(report), f"{mistake}: the report does not say {words!r}:\n{report}"


def test_every_exercise_has_a_stub_a_solution_and_a_wrong_answer():
    for name in NAMES:
        assert (STUBS / f"{name}.py").is_file() and (SOLUTIONS / f"{name}.py").is_file(), name
        assert WRONG.get(name), name
    assert (STUBS / "README.md").is_file()


def test_unknown_name_and_missing_file_fail(tmp_path):
    assert exercises.check("no_such_exercise").status == "unknown"
    assert exercises.check("sigmoid", tmp_path / "absent.py").status == "missing"


def test_the_failure_shows_the_worst_element(tmp_path):
    broken = (SOLUTIONS / "sigmoid.py").read_text().replace("grad_y * y * (1 - y)", "grad_y * y")
    path = tmp_path / "sigmoid.py"
    path.write_text(broken)
    text = str(exercises.check("sigmoid", path))
    assert "FAILED" in text and "input 0 (shape" in text, text
    assert "worst element" in text and "analytical" in text and "numerical" in text, text


@pytest.mark.parametrize("argv, status", [
    (["-m", "minigan.exercises", "check", "sigmoid", "--file", str(SOLUTIONS / "sigmoid.py")], 0),
    (["-m", "minigan.exercises", "check", "sigmoid", "--file", str(STUBS / "sigmoid.py")], 1),
    (["-m", "minigan", "exercise", "check", "bce_with_logits"], 1),    # default path, from ROOT
])
def test_command_line_exit_status(argv, status):
    result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.returncode == status, result.stdout + result.stderr
    assert "exercise" in result.stdout
