"""The squashed migrations: new databases in one step, databases of earlier releases up to date."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What databases migrated before the 2026-12-01 squash have recorded, per squashed migration.
REPLACED = {
    ("accounts", "0001_squashed_0002_robot_token_expiry"): [
        "0001_initial",
        "0002_robot_token_expiry",
    ],
    ("registry", "0001_squashed_0002_manifest_deleted"): ["0001_initial", "0002_manifest_deleted"],
    ("squash", "0001_squashed_0005_squashedimage_diff_id"): [
        "0001_initial",
        "0002_squashedimage_worker",
        "0003_squashedimage_segments",
        "0004_squash_failure_kind",
        "0005_squashedimage_diff_id",
    ],
}


def _manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["QS_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_creates_a_new_database_with_nothing_left_to_make(tmp_path):
    assert _manage(tmp_path, "migrate", "--noinput", "-v0").returncode == 0
    check = _manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert check.returncode == 0, check.stdout + check.stderr


def test_it_takes_a_database_of_the_replaced_migrations_as_up_to_date(tmp_path):
    assert _manage(tmp_path, "migrate", "--noinput", "-v0").returncode == 0
    with sqlite3.connect(tmp_path / "quaysquash.sqlite3") as db:
        for (app, squashed), names in REPLACED.items():
            db.execute("DELETE FROM django_migrations WHERE app=? AND name=?", (app, squashed))
            db.executemany(
                "INSERT INTO django_migrations (app, name, applied) VALUES (?, ?, datetime('now'))",
                [(app, name) for name in names],
            )

    # --check fails when an operation would run: none may, only the squashed names get recorded.
    check = _manage(tmp_path, "migrate", "--check", "--noinput")
    assert check.returncode == 0, check.stdout + check.stderr
    assert _manage(tmp_path, "migrate", "--noinput", "-v0").returncode == 0
    shown = _manage(tmp_path, "showmigrations", "accounts", "registry", "squash").stdout
    assert "[ ]" not in shown
    assert "[X] 0001_squashed_0005_squashedimage_diff_id" in shown
