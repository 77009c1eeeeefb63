"""The import arrows point one way (docs/architecture.md):

    cli, commands -> workflows -> reporting -> exploration -> evaluation -> training -> models, registry
                  -> nn, data, io, configs

Every ``import generativa.X`` / ``from generativa.X import ...`` in a module, at the top or inside a
function, must point to a layer below the module's own (or to its own package)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "generativa"

BASE = {"io", "configs"}
ALLOWED: dict[str, set[str]] = {
    "io": set(),
    "configs": set(),
    "nn": set(),
    "data": {"io", "nn"},
    "registry": {"models", "configs"},
    "models": {"nn", "registry", "configs"},
    "training": {"models", "registry", "nn", "data", *BASE},
    "evaluation": {"training", "models", "registry", "nn", "data", *BASE},
    "exploration": {"evaluation", "training", "models", "registry", "nn", "data", *BASE},
    "reporting": {"exploration", "evaluation", "training", "models", "registry", "nn", "data", *BASE},
    "workflows": {"reporting", "exploration", "evaluation", "training", "models", "registry", "nn", "data", *BASE},
    "server": {"workflows", "reporting", "exploration", "evaluation", "training", "models", "registry", "nn",
               "data", *BASE},
}
TOP = {"cli", "commands", "__init__"}  # may use every layer


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "generativa" and len(parts) > 1:
                out.append((node.lineno, parts[1]))
    return out


def test_every_module_belongs_to_a_known_layer():
    layers = {_layer(p) for p in SRC.rglob("*.py")}
    assert layers <= set(ALLOWED) | TOP, layers - set(ALLOWED) - TOP


def test_imports_point_down_the_layers():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        layer = _layer(path)
        if layer in TOP:
            continue
        for line, target in _imports(path):
            if target != layer and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(SRC)}:{line} ({layer}) imports generativa.{target}")
    assert wrong == [], "\n".join(wrong)


WORKFLOW_ATTRIBUTES = {"train": "workflows", "resume": "workflows", "sample": "workflows", "report": "workflows",
                       "evaluate": "evaluation"}


def test_no_layer_reaches_up_through_the_package_attributes():
    """``generativa.train(...)`` inside the library is an import of the workflows layer in disguise."""
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        layer = _layer(path)
        if layer in TOP:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "generativa"
                    and node.attr in WORKFLOW_ATTRIBUTES):
                target = WORKFLOW_ATTRIBUTES[node.attr]
                if target != layer and target not in ALLOWED[layer]:
                    wrong.append(f"{path.relative_to(SRC)}:{node.lineno} ({layer}) calls generativa.{node.attr}")
    assert wrong == [], "\n".join(wrong)


def test_model_files_import_nothing_of_training_evaluation_reporting_or_server():
    for path in (SRC / "models").rglob("*.py"):
        targets = {t for _, t in _imports(path)}
        assert not targets & {"training", "evaluation", "reporting", "server", "workflows", "exploration"}, path
