"""The layering of ARCHITECTURE.md, and each package's public API.

tui → eva → intents, runtime. `runtime` and `intents` import nothing of
ours; other packages reach into `runtime` only through `runtime`,
`runtime.errors` and `runtime.events`; nothing imports `tui`.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runtime", "intents", "eva", "tui")
ALLOWED = {
    "runtime": set(),
    "intents": set(),
    "eva": {"intents", "runtime"},
    "tui": {"eva"},
}
RUNTIME_PUBLIC = {"runtime", "runtime.errors", "runtime.events"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_the_architecture_allows(package: str) -> None:
    ours = set(PACKAGES)
    wrong: list[str] = []
    for path in sources(package):
        for module in imports_of(path):
            top = module.split(".")[0]
            if top not in ours or top == package:
                continue
            if top not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
            elif top == "runtime" and module not in RUNTIME_PUBLIC:
                wrong.append(f"{path.relative_to(ROOT)} reaches into {module}")
    assert wrong == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_exists_and_public_names_are_listed(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert sorted(exported) == sorted(set(exported)), "duplicates in __all__"
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ lists {name}, which is missing"
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith(package)
        and not isinstance(value, type(module))
    }
    assert defined <= set(exported), f"public but not in __all__: {defined - set(exported)}"


def test_intents_does_no_io() -> None:
    banned = {
        "sqlite3",
        "sqlalchemy",
        "aiosqlite",
        "asyncio",
        "socket",
        "subprocess",
        "urllib",
        "http",
        "requests",
        "httpx",
        "os",
        "pathlib",
        "io",
        "open",
    }
    for path in sources("intents"):
        assert not {m.split(".")[0] for m in imports_of(path)} & banned, path


def test_runtime_exports_load_lazily_and_actors_alone_do_without_the_store() -> None:
    """`runtime` loads each export on first use: a program of actors imports neither
    the store (SQLAlchemy, Alembic) nor pydantic, and every export is mapped."""
    import runtime

    assert sorted(runtime._EXPORTS) == sorted(runtime.__all__)
    code = (
        "import sys\n"
        "from runtime import Actor, ActorSystem, ActorType, SystemClock\n"
        "print(' '.join(sorted(m for m in ('sqlalchemy', 'alembic', 'pydantic', 'runtime.facade')"
        " if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.split() == []
