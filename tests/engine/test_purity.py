"""The engine is a pure library: no Django, nothing of ours outside the engine package."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "quaysquash" / "squash" / "engine"


def test_it_imports_neither_django_nor_the_rest_of_the_project():
    modules = sorted(ENGINE.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside the engine package
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(("django", "rest_framework", "quaysquash")), (
                    f"{module.name} imports {name}"
                )
