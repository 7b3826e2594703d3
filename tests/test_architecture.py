"""The package layout is the architecture: imports flow one way, and this test holds them to it.

Layers, lowest first (a package may import only packages of a LOWER layer, or itself):

    errors, clip                      plain types
    runtime                           what every command shares; imports no pipeline
    skeletons                         skeletons as data, joint maps
    plugins, motion, text, models     the plugin API and the building blocks
    store                             the motion store (prepare uses the plugin API)
    prior, har                        pipelines over the blocks
    adapt                             needs the prior
    generate                          needs adapt (the adapted model) and har (the judge)
    evaluate                          needs har
    commands                          the CLI, on top; nothing imports it

Imports inside functions count (a lazy import is still a dependency); imports under
``if TYPE_CHECKING:`` do not (they never run).  Dataset plugins import only the plugin API.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "errors": 0, "clip": 0,
    "runtime": 1,
    "skeletons": 2,
    "plugins": 3, "motion": 3, "text": 3, "models": 3,
    "store": 4,
    "prior": 5, "har": 5,
    "adapt": 6,
    "generate": 7,
    "evaluate": 8,
    "commands": 9,
}
PLUGIN_API = ("kinemic_cli.plugins", "kinemic_cli.skeletons", "kinemic_cli.errors", "kinemic_cli.clip")


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def _imports(path: Path, root: Path = ROOT) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every import that can run."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    module = _module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            out.append((target, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names)
    return out


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _layer(module: str) -> str | None:
    """The package (layer) of a kinemic_cli module; None for the package root itself."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "kinemic_cli" or parts[1].startswith("__"):  # __main__, __version__
        return None
    return parts[1]


def test_every_package_has_a_layer():
    found = {p.name for p in (ROOT / "kinemic_cli").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    found |= {p.stem for p in (ROOT / "kinemic_cli").glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert found == set(LAYERS), f"give these a layer in this test: {sorted(found ^ set(LAYERS))}"


def layer_violations(root: Path = ROOT) -> list[str]:
    wrong = []
    for path in sorted((root / "kinemic_cli").rglob("*.py")):
        here = _layer(_module_name(path, root))
        if here is None:  # kinemic_cli/__init__.py, __main__.py
            continue
        for target, names, line in _imports(path, root):
            candidates = [target] + [f"{target}.{n}" for n in names]
            for there in {_layer(c) for c in candidates if c.startswith("kinemic_cli.")} - {None, here}:
                if not LAYERS[there] < LAYERS[here]:
                    wrong.append(f"{path.relative_to(root)}:{line}: {here} (layer {LAYERS[here]}) imports "
                                 f"{there} (layer {LAYERS[there]})")
    return wrong


def test_imports_flow_down_the_layers():
    wrong = layer_violations()
    assert not wrong, "\n".join(wrong)


def test_no_private_names_across_packages():
    wrong = []
    for path in [*_files("kinemic_cli"), *_files("datasets_plugins")]:
        here = _module_name(path).split(".")[:2]
        for target, names, line in _imports(path):
            if not target.startswith("kinemic_cli"):
                continue
            if target.split(".")[:2] == here:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            private += [p for p in target.split(".") if p.startswith("_") and not p.startswith("__")]
            if private:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: takes {private} from {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in _files("kinemic_cli")}
    for path in _files("kinemic_cli"):
        edges = set()
        for target, names, _ in _imports(path):
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in modules:
                    edges.add(candidate)
                    break
        graph[_module_name(path)] = edges - {_module_name(path)}
    # a package's __init__ is imported with any of its modules; it re-exports, so ignore init -> own module edges
    for name in list(graph):
        if (ROOT / name.replace(".", "/") / "__init__.py").exists():
            graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, trail + [nxt]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, [start]):
            break
    assert not cycle, " -> ".join(cycle)


def test_dataset_plugins_import_only_the_plugin_api():
    wrong = []
    for path in _files("datasets_plugins"):
        for target, _, line in _imports(path):
            if target.startswith("kinemic_cli") and not target.startswith(PLUGIN_API):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_checker_catches_a_wrong_way_import(tmp_path):
    """The rules above can fail: a store module importing a pipeline (even lazily) is caught."""
    probe = tmp_path / "kinemic_cli" / "store" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def f():\n    from ..adapt.run import run_adaptation\n")
    assert layer_violations(tmp_path) == ["kinemic_cli/store/probe.py:2: store (layer 4) imports adapt (layer 6)"]
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..adapt.run import X\n")
    assert layer_violations(tmp_path) == []


def _absolute_paths(value, trail="") -> list[str]:
    """String values in a JSON document that are absolute paths of some machine."""
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _absolute_paths(v, f"{trail}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _absolute_paths(v, f"{trail}[{i}]")]
    if isinstance(value, str) and (value.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", value)):
        return [f"{trail} = {value}"]
    return []


def test_shipped_assets_name_no_path_of_the_machine_that_made_them():
    hits = []
    for path in sorted((ROOT / "kinemic_cli" / "assets").rglob("*.json")):
        hits += [f"{path.relative_to(ROOT)}: {hit}" for hit in _absolute_paths(json.loads(path.read_text()))]
    assert not hits, "\n".join(hits[:10])
    assert _absolute_paths({"argv": ["kinemic", "--out", "/home/me/run"]}) == [".argv[2] = /home/me/run"]
