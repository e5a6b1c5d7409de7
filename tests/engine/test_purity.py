"""The engine is a pure library: importing it loads neither Django nor Celery nor the project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_imports_neither_django_nor_celery_nor_the_project():
    # A fresh interpreter: this test process has Django loaded already.
    probe = (
        "import json, sys\n"
        "import squashengine, squashengine.__main__\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    loaded = json.loads(result.stdout)
    offenders = [
        name
        for name in loaded
        if name.split(".")[0] in {"django", "celery", "kombu", "rest_framework", "quaysquash"}
    ]
    assert offenders == []
    assert "squashengine.plan" in loaded
