"""Every lesson runs with --quick in a subprocess, exits 0 and writes its figures."""
import os
import pathlib
import subprocess
import sys

import pytest

LESSONS = sorted((pathlib.Path(__file__).resolve().parents[1] / "lessons").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_quick_and_writes_figures(lesson, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    result = subprocess.run([sys.executable, str(lesson), "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, f"{lesson.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    figures = [p for p in tmp_path.rglob("*") if p.suffix in (".png", ".gif")]
    assert figures, f"{lesson.name} wrote no figure under --out"
    for figure in figures:
        head = figure.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") or head.startswith(b"GIF8"), f"{figure} is not an image"


def test_every_lesson_has_the_standard_docstring():
    for lesson in LESSONS:
        text = lesson.read_text()
        doc = text.split('"""')[1] if text.startswith('"""') else ""
        for part in ("learn", "--quick", "writes"):
            assert part.lower() in doc.lower(), f"{lesson.name}: docstring does not say {part!r}"
