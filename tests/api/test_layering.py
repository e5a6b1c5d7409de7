"""quaysquash/api/ does not import quaysquash/web/: both use the shared modules."""

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "quaysquash" / "api"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_it_keeps_the_api_independent_of_the_pages():
    offenders = {
        str(path.relative_to(API)): sorted(
            n for n in _imports(path) if n.startswith("quaysquash.web")
        )
        for path in API.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 5  # the walk found the views package
