"""Layout rules: the engine imports kernels through the installed package, never bare."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_files():
    for folder in ["minigan", "kernels", "lessons", "tests"]:
        yield from (ROOT / folder).rglob("*.py")


def test_no_module_does_a_bare_import_of_kernels():
    offenders = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "kernels" for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "kernels":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"bare `import kernels` (use `from minigan import kernels`): {offenders}"


def test_import_minigan_does_not_import_numba_or_cupy():
    code = "import sys, minigan; print('numba' in sys.modules, 'cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_kernels_are_the_installed_package():
    import minigan.kernels
    assert pathlib.Path(minigan.kernels.__file__).parent == ROOT / "kernels"
