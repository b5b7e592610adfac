"""The exercise checker teaches before it tells.

- every untouched stub fails, shows the numbers its code must give, and never the formula;
- every reference solution passes;
- every listed wrong answer fails with its own hint (a sign flip says "sign error"; a raw-
  array backward is caught by gradgradcheck);
- --hint hands out the graded hints one by one, --solution the formula;
- the command line returns the right exit status.
"""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import minigan as mg
from minigan import exercises

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUBS = ROOT / "lessons" / "exercises"
SOLUTIONS = STUBS / "solutions"
NAMES = list(exercises.EXERCISES)

# name -> [(what the learner got wrong, text in the solution, its wrong replacement,
#           words the report must contain)]
WRONG = {
    "sigmoid": [
        ("forgot grad_y", "return grad_y * y * (1 - y)", "return y * (1 - y)",
         "multiply by grad_y"),
        ("used x for s(x)", "return grad_y * y * (1 - y)",
         "x, = self.inputs\n        return grad_y * x * (1 - x)", "self.output"),
        ("sign flipped", "return grad_y * y * (1 - y)", "return grad_y * y * (y - 1)",
         "sign error"),
        ("raw arrays", "return grad_y * y * (1 - y)",
         "s = y.detach().numpy()\n        return grad_y * mg.from_numpy(s * (1 - s))",
         "gradgradcheck failed"),
    ],
    "matmul_broadcast": [
        ("no sum over broadcast dims",
         "return sum_to_shape(grad_a, a.shape), sum_to_shape(grad_b, b.shape)",
         "return grad_a, grad_b", "sum over the broadcast dimensions"),
        ("missing transpose", "grad_y @ b.mT", "grad_y @ b", "raised"),
        ("sign flipped", "grad_a = grad_y @ b.mT", "grad_a = -(grad_y @ b.mT)", "sign error"),
    ],
    "bce_with_logits": [
        ("no target gradient", "return grad_x, grad_t", "return grad_x, None",
         "return its gradient"),
        ("sign of the target term", "(mg.sigmoid(x) - t)", "(mg.sigmoid(x) + t)",
         "sign error in the target's term"),
        ("sign of dL/dt", "grad_t = grad_y * -x", "grad_t = grad_y * x", "sign error"),
        ("forgot grad_y", "grad_x = grad_y * (mg.sigmoid(x) - t)", "grad_x = mg.sigmoid(x) - t",
         "multiply by grad_y"),
    ],
    "conv2d_weight_grad": [
        ("mean over the batch", "(gy @ cols.mT).sum(0)", "(gy @ cols.mT).mean(0)", "not a mean"),
        ("grad_w from raw arrays", "gy = grad_y.reshape(N, O, -1)",
         "gy = mg.from_numpy(grad_y.detach().numpy().reshape(N, O, -1))", "gradgradcheck failed"),
    ],
    "batch_norm": [
        ("no mean/variance terms", """(
            g - g.mean(dim=dims, keepdim=True)                          # the path through mu
            - x_hat * (g * x_hat).mean(dim=dims, keepdim=True))""", "g",
         "paths through the mean and variance"),
        ("no variance term", "- x_hat * (g * x_hat).mean(dim=dims, keepdim=True))",
         "- 0 * x_hat)",
         "the one through the variance is missing"),
        ("statistics saved as constants", "x_hat = (x - mu) * inv_std",
         "x_hat = ((x - mu) * inv_std).detach()", "gradgradcheck failed"),
    ],
    "gradient_penalty": [
        ("create_graph missing", "x_hat, create_graph=True)", "x_hat)", "create_graph=True"),
        ("norm over the whole batch", "grads.flatten(1).norm(dim=1)", "grads.norm()",
         "PER SAMPLE"),
        ("squared norm", "grads.flatten(1).norm(dim=1)", "(grads.flatten(1) ** 2).sum(dim=1)",
         "you squared the norm"),
        ("no target of 1", "((norms - 1) ** 2)", "(norms ** 2)", "the target is a norm of 1"),
    ],
    "gan_losses": [
        ("D climbs its loss", "return mg.softplus(-real_logits).mean() + "
         "mg.softplus(fake_logits).mean()",
         "return -mg.softplus(-real_logits).mean() - mg.softplus(fake_logits).mean()",
         "sign error"),
        ("real and fake swapped", "return mg.softplus(-real_logits).mean() + "
         "mg.softplus(fake_logits).mean()",
         "return mg.softplus(real_logits).mean() + mg.softplus(-fake_logits).mean()",
         "real and fake are swapped"),
        ("minimax G written as non-saturating", "return -mg.softplus(fake_logits).mean()",
         "return mg.softplus(-fake_logits).mean()", "that is the non-saturating loss"),
        ("log of a sigmoid", "return -mg.softplus(fake_logits).mean()",
         "return mg.log(1 - mg.sigmoid(fake_logits)).mean()", "Write the logs with softplus"),
        ("non-saturating G written as D's fake term", "return mg.softplus(-fake_logits).mean()\n",
         "return mg.softplus(fake_logits).mean()\n", "that is D's loss on the fakes"),
        ("a sum, not a mean", "return mg.softplus(-fake_logits).mean()\n",
         "return mg.softplus(-fake_logits).sum()\n", "4 times the expected value"),
    ],
    "train_step": [
        ("fakes not detached for D", "loss.d_loss(D(real), D(fake.detach()))",
         "loss.d_loss(D(real), D(fake))", "score fake.detach()"),
        ("D not frozen", "    D.requires_grad_(False)                             # frozen: "
         "G's loss must not train D\n", "", "freeze D for G's update"),
        ("D's fakes reused", "    fake = G(mg.randn(n, G.latent_dim))\n    D.requires_grad_",
         "    D.requires_grad_", "the article's step 6"),
        ("no zero_grad for D", "    opt_d.zero_grad()\n", "",
         "clear D's gradients before its backward"),
        ("D never unfrozen", "D.requires_grad_(True)", "pass", "unfreeze D"),
        ("G climbs its loss", "loss_g = loss.g_loss(D(fake))", "loss_g = -loss.g_loss(D(fake))",
         "sign error"),
    ],
    "r1_penalty": [
        ("create_graph missing", "x, create_graph=True)", "x)", "create_graph=True"),
        ("norm, not squared", "(grads.flatten(1) ** 2).sum(dim=1)",
         "grads.flatten(1).norm(dim=1)", "the SQUARED norm"),
        ("WGAN-GP's target", "(grads.flatten(1) ** 2).sum(dim=1)",
         "(grads.flatten(1).norm(dim=1) - 1) ** 2", "no target 1"),
        ("the 1/2 missing", "return 0.5 * weight * squared.mean()",
         "return weight * squared.mean()", "the 1/2 is missing"),
    ],
}

# Formulas that old stubs printed on their first check: no first report may show them.
LEAKS = ["sigmoid(x) - t", "s(x) * (1 - s(x))", "1 - y", "mean(g * x_hat)", "b.mT", "a.mT",
         "create_graph=True", "norm(dim=1)", "softplus(", "logsigmoid", "fake.detach()",
         "requires_grad_(False)", "** 2"]


@pytest.fixture(autouse=True)
def hint_memory(tmp_path, monkeypatch):
    """Each test remembers its hints in its own cache folder, never in ~/.cache."""
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def solution_lines(name):
    return [line.strip() for line in exercises.solution(name).splitlines()
            if len(line.strip()) > 12]


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails_without_printing_the_answer(name):
    report = exercises.check(name, STUBS / f"{name}.py")
    assert not report and report.status == "not done", str(report)
    text = str(report)
    assert "NOT DONE YET" in text and f"minigan exercise check {name} --hint" in text, text
    for words in LEAKS + solution_lines(name) + list(exercises.EXERCISES[name].hints):
        assert words not in text, f"the first check of {name} prints {words!r}:\n{text}"


@pytest.mark.parametrize("name", ["sigmoid", "matmul_broadcast", "bce_with_logits",
                                  "conv2d_weight_grad", "batch_norm"])
def test_untouched_backward_stub_shows_the_numbers_it_must_return(name):
    text = str(exercises.check(name, STUBS / f"{name}.py"))
    assert "grad_y = [" in text and "your backward must return" in text, text
    assert "dL/d" in text, text


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name):
    report = exercises.check(name, SOLUTIONS / f"{name}.py")
    assert report and report.status == "passed", str(report)


CASES = [(name, *case) for name, cases in WRONG.items() for case in cases]


@pytest.mark.parametrize("name, mistake, right, wrong, words", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_plausible_wrong_answer_fails_with_its_own_hint(name, mistake, right, wrong, words,
                                                        tmp_path):
    source = (SOLUTIONS / f"{name}.py").read_text()
    assert source.count(right) == 1, f"the test's edit no longer matches {name}'s solution"
    path = tmp_path / f"{name}.py"
    path.write_text(source.replace(right, wrong))
    report = exercises.check(name, path)
    text = str(report)
    assert not report and report.status == "failed", f"{mistake}: {text}"
    assert words in text, f"{mistake}: the report does not say {words!r}:\n{text}"
    for line in solution_lines(name):
        assert line not in text, f"{mistake}: the report prints the solution {line!r}"


def test_every_exercise_has_a_stub_a_solution_hints_and_three_wrong_answers():
    for name in NAMES:
        assert (STUBS / f"{name}.py").is_file() and (SOLUTIONS / f"{name}.py").is_file(), name
        assert len(exercises.EXERCISES[name].hints) >= 3, name
    for name in ["gan_losses", "train_step", "r1_penalty"]:
        assert len(WRONG[name]) >= 3, name
    assert set(WRONG) == set(NAMES)
    assert (STUBS / "README.md").is_file()


def test_the_failure_shows_which_elements_and_the_numbers(tmp_path):
    broken = (SOLUTIONS / "sigmoid.py").read_text().replace("grad_y * y * (1 - y)", "grad_y * y")
    path = tmp_path / "sigmoid.py"
    path.write_text(broken)
    text = str(exercises.check("sigmoid", path))
    assert "on x of shape (5,)" in text, text
    assert "your dL/dx is wrong at 5 of 5 elements" in text, text
    row = next(line for line in text.splitlines() if line.strip().startswith("["))
    numbers = [float(v) for v in row.split()[1:]]
    x, grad_y, expected, yours = numbers                  # the columns the header names
    s = 1 / (1 + np.exp(-x))
    assert np.isclose(expected, grad_y * s * (1 - s), rtol=1e-3), row
    assert np.isclose(yours, grad_y * s, rtol=1e-3), row


def test_a_raw_array_backward_is_caught_by_gradgradcheck_alone(tmp_path):
    source = (SOLUTIONS / "sigmoid.py").read_text().replace(
        "return grad_y * y * (1 - y)",
        "s = y.detach().numpy()\n        return grad_y * mg.from_numpy(s * (1 - s))")
    path = tmp_path / "sigmoid.py"
    path.write_text(source)
    report = exercises.check("sigmoid", path)
    text = str(report)
    # The first derivative is right: gradcheck alone would let this backward through ...
    module = exercises.runner._load("raw_sigmoid", path)
    x = mg.tensor(np.linspace(-3, 3, 5), dtype=mg.float64, requires_grad=True)
    assert mg.autograd.gradcheck(module.Sigmoid.apply, (x,))
    # ... and the checker catches it with gradgradcheck, and says why.
    assert report.status == "failed" and "gradgradcheck failed" in text, text
    assert "raw arrays" in text and "second derivative" in text, text


def test_hints_come_one_at_a_time_and_are_remembered(hint_memory):
    hints = exercises.EXERCISES["sigmoid"].hints
    assert exercises.hint("sigmoid") == (1, 3, hints[0])
    assert exercises.hint("sigmoid") == (2, 3, hints[1])
    assert exercises.hint("batch_norm")[0] == 1            # each exercise has its own count
    assert exercises.hint("sigmoid") == (3, 3, hints[2])
    assert exercises.hint("sigmoid") == (3, 3, hints[2])   # the last one stays
    assert exercises.hint("sigmoid", 1) == (1, 3, hints[0])
    assert exercises.hint("sigmoid")[0] == 2               # and on from there
    with pytest.raises(ValueError, match="ask for 1 to 3"):
        exercises.hint("sigmoid", 4)
    assert (hint_memory / "exercise_hints.json").is_file()


def test_an_unreadable_hint_memory_starts_again_from_hint_1(hint_memory):
    hint_memory.mkdir(parents=True)
    (hint_memory / "exercise_hints.json").write_text("{not json")
    assert exercises.hint("sigmoid")[0] == 1
    assert exercises.hint("sigmoid")[0] == 2


def test_the_report_points_to_the_next_hint(hint_memory):
    assert "shows hint 1 of 3" in str(exercises.check("sigmoid", STUBS / "sigmoid.py"))
    exercises.hint("sigmoid")
    assert "shows hint 2 of 3" in str(exercises.check("sigmoid", STUBS / "sigmoid.py"))


def test_unknown_name_and_missing_file_fail(tmp_path):
    assert exercises.check("no_such_exercise").status == "unknown"
    assert exercises.check("sigmoid", tmp_path / "absent.py").status == "missing"


def test_argparse_lives_only_in_the_command_layer():
    package = ROOT / "minigan" / "exercises"
    assert not (ROOT / "minigan" / "exercises.py").exists()
    for path in package.glob("*.py"):
        assert "argparse" not in path.read_text(), path


def run_command(*args, cache):
    return subprocess.run([sys.executable, "-m", "minigan", "exercise", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**__import__("os").environ, "MINIGAN_CACHE": str(cache)})


@pytest.mark.parametrize("args, status", [
    (["check", "sigmoid", "--file", str(SOLUTIONS / "sigmoid.py")], 0),
    (["check", "sigmoid", "--file", str(STUBS / "sigmoid.py")], 1),
    (["check", "bce_with_logits"], 1),                    # the default path, from ROOT
    (["check", "no_such_exercise"], 2),
    (["list"], 0),
])
def test_command_line_exit_status(args, status, hint_memory):
    result = run_command(*args, cache=hint_memory)
    assert result.returncode == status, result.stdout + result.stderr
    assert "exercise" in result.stdout + result.stderr


def test_command_line_hint_and_solution(hint_memory):
    hints = exercises.EXERCISES["gan_losses"].hints
    plain = run_command("check", "gan_losses", cache=hint_memory)
    assert hints[0] not in plain.stdout and "softplus(" not in plain.stdout, plain.stdout
    first = run_command("check", "gan_losses", "--hint", cache=hint_memory)
    assert f"hint 1 of 3: {hints[0]}" in first.stdout, first.stdout
    second = run_command("check", "gan_losses", "--hint", cache=hint_memory)
    assert f"hint 2 of 3: {hints[1]}" in second.stdout, second.stdout
    again = run_command("check", "gan_losses", "--hint", "1", cache=hint_memory)
    assert f"hint 1 of 3: {hints[0]}" in again.stdout, again.stdout
    answer = run_command("check", "gan_losses", "--solution", cache=hint_memory)
    assert exercises.solution("gan_losses") in answer.stdout, answer.stdout
    assert answer.returncode == 1                         # the stub still fails
