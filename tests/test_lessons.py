"""The lessons: each runs with --quick, its claim holds, and the figures it promises exist
and show something; with --quick --baseline (the do-nothing variant) the same closing
check fails. A check that passes for a model that learned nothing proves nothing."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow      # the lessons run as subprocesses, seconds each

ROOT = pathlib.Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))

# What each lesson writes under --out in quick mode (the docstrings say the same).
EXPECTED = {
    "00_what_is_a_gan": ["counterfeiter_and_police.png", "what_g_and_d_do.png",
                         "what_the_course_builds.png"],
    "01_autograd_by_hand": ["graph.txt", "graph.dot", "function_and_derivative.png"],
    "02_gradient_checking": ["fd_error.png", "fd_forward_vs_central.png", "broken_backward.png"],
    "03_tensors_layers_optimisers": ["loss_curves.png", "predictions.png"],
    "04_convolution_from_loops": ["im2col.png", "transposed.png"],
    "05_fast_kernels": ["roofline.png", "speedup.png"],
    "06_generator_and_discriminator": ["snapshots.png", "optimal_d.png", "js_divergence.png"],
    "07_adversarial_loop": ["snapshots.png", "training.gif", "history.png",
                            "fresh_vs_reused.png"],
    "08_objectives": ["saturation.png", "losses_ring.png", "grad_norm_g.png"],
    "09_dynamics": ["field_wgan.png", "field_ns_r1.png", "distance.png", "eigenvalues.png"],
    "10_dcgan_mnist": ["real_digits.png", "clusters.png", "samples_epoch_00.png",
                       "samples_epoch_06.png", "samples.gif", "history.png",
                       "interpolation.png"],
    "11_wgan_gp": ["penalty_graph.txt", "wgan_gp_training.png", "snapshots.png", "history.png"],
    "12_conditional_gan": ["real_by_label.png", "digits_by_label.png", "history.png"],
    "13_challenges": ["fixes_side_by_side.png", "baseline_over_time.png",
                      "baseline_history.png"],
    "14_evaluating_gans": ["losses_vs_metrics.png", "checkpoints.png", "memorisation.png"],
    "15_inpainting_and_denoising": ["masks_and_noise.png", "inpainting.png", "denoising.png",
                                    "history.png"],
    "16_style_transfer": ["domains.png", "cyclegan.png", "history.png", "cyclegan_typeset.png",
                          "history_typeset.png"],
}
# Lessons whose closing check has no --baseline yet, and why.
NO_BASELINE = {"05_fast_kernels": "a benchmark, owned by the speed work: its claims are "
                                  "measured ratios, not a model that learns"}
# An empty set of axes with a title and labels has ~1% of its pixels off the background;
# every figure of the lessons has 3.5% or more.
MIN_INK = 0.025


def run(lesson, out, *flags):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    return subprocess.run([sys.executable, str(lesson), "--quick", "--out", str(out), *flags],
                          capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)


def ink(path):
    """The fraction of pixels (first frame) that differ from the background colour."""
    from PIL import Image
    with Image.open(path) as image:
        image.seek(0)
        grey = np.asarray(image.convert("L"), dtype=np.float64) / 255       # (H, W)
    values, counts = np.unique(np.round(grey, 2), return_counts=True)
    background = values[counts.argmax()]
    return float((np.abs(grey - background) > 0.1).mean())


def test_every_lesson_is_listed():
    assert sorted(EXPECTED) == [p.stem for p in LESSONS]


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_quick_claim_holds_and_figures_show_something(lesson, tmp_path):
    result = run(lesson, tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"{lesson.name} failed:\n{log[-4000:]}"
    if lesson.stem not in NO_BASELINE:
        assert "claim holds" in result.stdout and "claim fails" not in log, log[-3000:]
    for name in EXPECTED[lesson.stem]:
        path = tmp_path / name
        assert path.is_file(), f"{lesson.name} did not write {name}"
        if path.suffix in (".png", ".gif"):
            head = path.read_bytes()[:8]
            assert head.startswith(b"\x89PNG") or head.startswith(b"GIF8"), f"{path} is no image"
            assert ink(path) > MIN_INK, f"{path} looks blank ({ink(path):.1%} ink)"
        else:
            assert path.stat().st_size > 0, f"{path} is empty"


@pytest.mark.parametrize("lesson", [p for p in LESSONS if p.stem not in NO_BASELINE],
                         ids=[p.stem for p in LESSONS if p.stem not in NO_BASELINE])
def test_lesson_claim_fails_for_its_baseline(lesson, tmp_path):
    result = run(lesson, tmp_path, "--baseline")
    log = result.stdout + result.stderr
    assert result.returncode != 0, f"{lesson.name} --baseline passed its check:\n{log[-4000:]}"
    assert "claim fails" in result.stdout and "claim holds" not in log, log[-4000:]
    assert "Traceback" not in log, f"{lesson.name} --baseline crashed:\n{log[-4000:]}"
    # the failing check prints both numbers: the measured one and its baseline's
    assert re.search(r"FAILS\] .*: \S+ vs baseline \S+", result.stdout), result.stdout[-3000:]


def test_every_lesson_has_the_standard_docstring():
    for lesson in LESSONS:
        text = lesson.read_text()
        doc = text.split('"""')[1] if text.startswith('"""') else ""
        for part in ("learn", "--quick", "writes"):
            assert part.lower() in doc.lower(), f"{lesson.name}: docstring does not say {part!r}"
        if lesson.stem not in NO_BASELINE:
            assert "--baseline" in doc, f"{lesson.name}: docstring does not explain --baseline"


def test_every_lesson_ends_with_questions_and_variations():
    for lesson in LESSONS:
        text = lesson.read_text()
        assert "# --- Questions ---" in text and "# --- Try this ---" in text, lesson.name
        questions = text.split("# --- Questions ---")[1].split("# --- Try this ---")[0]
        variations = text.split("# --- Try this ---")[1]
        n_questions = len(re.findall(r"^# \d\. ", questions, re.M))
        n_variations = len(re.findall(r"^# \d\. ", variations, re.M))
        assert 2 <= n_questions <= 3, f"{lesson.name}: {n_questions} questions"
        assert 2 <= n_variations <= 3, f"{lesson.name}: {n_variations} variations"
        assert variations.count("Expect") >= n_variations, \
            f"{lesson.name}: every variation says what to expect"



# --- the closing check itself ---
CLAIMS = f"""
import sys
sys.path.insert(0, {str(ROOT / "lessons")!r})
import claims
check = claims.ClaimCheck(baseline_mode={{mode}}, baseline="an untrained G")
check.lower("distance", {{value}}, 0.9, times=0.5)
check.higher("modes", {{modes}}, 0, by=4, at_least=6, fmt="d")
check.done("G moved")
"""


@pytest.mark.parametrize("value, modes, holds", [(0.3, 8, True), (0.9, 8, False), (0.3, 5, False),
                                                 (0.9, 0, False)])
def test_claim_check_exits_non_zero_and_never_says_holds_on_a_failure(value, modes, holds):
    code = CLAIMS.format(mode=not holds, value=value, modes=modes)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode == 0) == holds, result.stdout + result.stderr
    assert ("claim holds" in result.stdout) == holds
    assert ("claim fails" in result.stdout) == (not holds)
    assert "vs baseline" in result.stdout
