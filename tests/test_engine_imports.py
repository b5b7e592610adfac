"""The engine's import rules: inside minigan, names come from the module that defines them,
never from the package root `minigan/__init__.py` (so import order cannot matter), and the gradient checks call the
backward engine one way only."""
import ast
import importlib.util
import pathlib

import minigan as mg

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _package_of(path):
    """'minigan.nn' for minigan/nn/conv.py and for minigan/nn/__init__.py."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1])


def _imports_from(source, package):
    """(line, absolute module, imported name) for every `from X import name` in `source`."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")
            base = base[:len(base) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module
        for alias in node.names:
            yield node.lineno, module, alias.name


def _names_from_package_root(source, package):
    """Lines of `source` that import a function or class (not a module) from `minigan`."""
    bad = []
    for line, module, name in _imports_from(source, package):
        if module == "minigan" and importlib.util.find_spec(f"minigan.{name}") is None:
            bad.append(f"{line}: {name} from {module}")
    return bad


def test_no_module_imports_a_name_from_the_package_root():
    offenders = []
    for path in sorted((ROOT / "minigan").rglob("*.py")):
        bad = _names_from_package_root(path.read_text(), _package_of(path))
        offenders += [f"{path.relative_to(ROOT)}:{b}" for b in bad]
    assert not offenders, ("import these from the module that defines them:\n"
                           + "\n".join(offenders))


def test_the_rule_catches_a_name_imported_from_the_package_root():
    source = ("from .. import zeros\n"            # the function: works only by import order
              "from .. import kernels, grad_mode\n"
              "from ..creation import zeros\n"
              "from . import functional as F\n")
    assert _names_from_package_root(source, "minigan.nn") == ["1: zeros from minigan"]


def test_gradient_checks_import_the_engine_one_way():
    engine = ROOT / "minigan" / "autograd" / "engine.py"
    checks = ROOT / "minigan" / "autograd" / "finite_differences.py"
    engine_imports = {m for _, m, _ in _imports_from(engine.read_text(), "minigan.autograd")}
    assert not [m for m in engine_imports if "finite_differences" in m or "gradcheck" in m]
    assert ("minigan.autograd.engine", "grad") in {
        (m, n) for _, m, n in _imports_from(checks.read_text(), "minigan.autograd")}


def test_pytorch_names_stay_where_pytorch_has_them():
    assert mg.autograd.gradcheck.__module__ == "minigan.autograd.finite_differences"
    assert callable(mg.autograd.gradgradcheck) and callable(mg.autograd.grad)
    from minigan.gradcheck import GradcheckError
    assert GradcheckError is mg.autograd.GradcheckError
