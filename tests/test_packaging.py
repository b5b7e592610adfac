"""Packaging: the wheel a user installs holds every module, and a checkout that was never
installed says so instead of failing with a misleading circular-import error."""
import pathlib
import subprocess
import sys
import zipfile

import pytest

import minigan
from minigan.cli import main

pytestmark = pytest.mark.slow      # every test here runs a subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel offline, with this environment's setuptools (the dev extra has it)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    wheels = list(out.glob("minigan-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_every_module_of_the_source_tree(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"minigan/{p.relative_to(ROOT / 'minigan').as_posix()}"
                for p in (ROOT / "minigan").rglob("*.py")}
    expected |= {f"minigan/kernels/{p.relative_to(ROOT / 'kernels').as_posix()}"
                 for p in (ROOT / "kernels").rglob("*.py")}
    expected |= {f"minigan/kernels/{p.name}" for p in (ROOT / "kernels").glob("*.cu")}
    missing = sorted(expected - names)
    assert not missing, f"the wheel lacks {len(missing)} source files: {missing[:10]}"
    assert not any(n.startswith(("tests/", "lessons/", "kernels/")) for n in names), \
        "the wheel installs folders outside the minigan package"


def test_the_wheel_carries_the_licence_and_version(wheel):
    archive = zipfile.ZipFile(wheel)
    metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    text = archive.read(metadata).decode()
    assert f"Version: {minigan.__version__}" in text
    assert "License-Expression: MIT" in text
    assert "Requires-Dist: cupy-cuda12x; extra == \"gpu\"" in text
    assert any(n.endswith("licenses/LICENSE") for n in archive.namelist())


def test_version_flag_prints_the_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"minigan {minigan.__version__}"


def test_an_uninstalled_checkout_says_to_install_first():
    # -S: no site-packages, so neither the editable install nor numpy is visible; the
    # check must run before anything else is imported.
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import minigan"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and "pip install -e ." in last, last
    assert "circular import" not in out.stderr
