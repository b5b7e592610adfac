"""The layers of minigan, bottom to top, as README's layout section draws them:

    kernels -> engine (tensor, function, autograd, ops, gradcheck, ...) -> nn, optim, viz
            -> data -> gan -> metrics -> apps, exercises -> cli, bench

A module may import from its own layer and the layers below, never from a layer above;
no two subpackages may import each other (directly or in a ring); no module takes names
from the package root (`from .. import zeros` works only by the accident of import
order); argparse appears only in minigan/cli/. Imports inside functions count too: a lazy
upward import is still an upward import.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]

ENGINE = {"tensor", "function", "autograd", "gradcheck", "grad_mode", "creation", "random",
          "_device", "serialization", "_files", "_version", "ops", "cuda", "backends"}
RANK = {"kernels": 0, "engine": 1, "nn": 2, "optim": 2, "viz": 2, "data": 3, "gan": 4,
        "metrics": 5, "apps": 6, "exercises": 6, "cli": 7, "bench": 7}
FACADES = {"minigan", "minigan.__main__"}        # the public face may gather everything


class Module:
    def __init__(self, path, source=None):
        self.path = path
        self.source = source if source is not None else path.read_text()
        self.is_package = path.name == "__init__.py"


def modules():
    """{dotted name: Module} of every module of the installed package."""
    found = {}
    for path in (ROOT / "minigan").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__")] = Module(path)
    for path in (ROOT / "kernels").rglob("*.py"):
        parts = ("minigan", "kernels") + path.relative_to(ROOT / "kernels").with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__")] = Module(path)
    return found


MODULES = modules()


def node(name):
    """The layer node of a module inside minigan: 'kernels', 'engine', 'nn', ..."""
    parts = name.split(".")
    if len(parts) == 1:
        return "root"
    top = parts[1]
    return "engine" if top in ENGINE else top


def imports(name, module):
    """(imported module, imported names or None, line) of every import in a module."""
    package = name if module.is_package else name.rsplit(".", 1)[0]
    for n in ast.walk(ast.parse(module.source, str(module.path))):
        if isinstance(n, ast.Import):
            for alias in n.names:
                yield alias.name, None, n.lineno
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                base = package.split(".")
                base = base[:len(base) - (n.level - 1)]
                target = ".".join(base + ([n.module] if n.module else []))
            else:
                target = n.module
            yield target, [a.name for a in n.names], n.lineno


def edges(mods):
    """(from module, to module, line, name) for each import of one minigan module by
    another; `from pkg import sub` counts as importing pkg.sub when sub is a module."""
    for name, module in mods.items():
        for target, names, line in imports(name, module):
            if not target or not target.split(".")[0] == "minigan":
                continue
            if names is None:
                yield name, target, line, None
                continue
            for imported in names:
                full = f"{target}.{imported}"
                yield name, (full if full in mods else target), line, imported


def where(mods, name, line):
    return f"{mods[name].path.relative_to(ROOT)}:{line}"


def upward_imports(mods):
    found = []
    for src, dst, line, _ in edges(mods):
        a, b = node(src), node(dst)
        if src in FACADES or "root" in (a, b):
            continue
        if RANK[b] > RANK[a]:
            found.append(f"{where(mods, src, line)} ({a}) imports {dst} ({b})")
    return found


def subpackage_cycles(mods):
    graph = {}
    for src, dst, _, _ in edges(mods):
        a, b = node(src), node(dst)
        if a != b and "root" not in (a, b):
            graph.setdefault(a, set()).add(b)
    cycles = set()

    def visit(start, here, path):
        for nxt in graph.get(here, ()):
            if nxt == start:
                cycles.add(" -> ".join(path + [nxt]))
            elif nxt not in path:
                visit(start, nxt, path + [nxt])
    for start in graph:
        visit(start, start, [start])
    return sorted(cycles)


def root_imports(mods):
    return [f"{where(mods, src, line)} takes {imported!r} from the package root; import it "
            "from the module that defines it"
            for src, dst, line, imported in edges(mods)
            if src not in FACADES and dst == "minigan" and imported is not None]


def test_no_module_imports_from_a_layer_above():
    found = upward_imports(MODULES)
    assert not found, "imports that go up a layer:\n" + "\n".join(found)


def test_no_import_cycle_between_subpackages():
    cycles = subpackage_cycles(MODULES)
    assert not cycles, "subpackages that import each other:\n" + "\n".join(cycles)


def test_no_module_takes_names_from_the_package_root():
    found = root_imports(MODULES)
    assert not found, "\n".join(found)


def test_argparse_lives_only_in_the_cli():
    users = [str(m.path.relative_to(ROOT)) for name, m in MODULES.items()
             if node(name) != "cli" and any(t == "argparse" for t, _, _ in imports(name, m))]
    assert not users, f"argparse outside minigan/cli/: {users}"


def test_the_rules_catch_each_kind_of_violation():
    fake = ROOT / "minigan" / "nn" / "fake.py"
    mods = {"minigan.nn.fake": Module(fake, "from ..gan import recipes\nfrom .. import zeros\n"),
            "minigan.gan.recipes": Module(ROOT / "minigan" / "gan" / "recipes.py",
                                          "def f():\n    from ..nn import fake\n"),
            "minigan.gan": Module(ROOT / "minigan" / "gan" / "__init__.py", "")}
    assert upward_imports(mods) == ["minigan/nn/fake.py:1 (nn) imports minigan.gan.recipes (gan)"]
    assert subpackage_cycles(mods) == ["gan -> nn -> gan", "nn -> gan -> nn"]
    assert root_imports(mods) == ["minigan/nn/fake.py:2 takes 'zeros' from the package root; "
                                  "import it from the module that defines it"]


def test_the_gradient_checks_import_the_backward_engine_one_way():
    engine = {dst for src, dst, _, _ in edges(MODULES) if src == "minigan.autograd.engine"}
    checks = {(dst, name) for src, dst, _, name in edges(MODULES)
              if src == "minigan.autograd.finite_differences"}
    assert not any("finite_differences" in m or "gradcheck" in m for m in engine), engine
    assert ("minigan.autograd.engine", "grad") in checks
