"""The layout's rules that import-linter cannot see: adapters are built only by the composition
root, application modules stay small, and a write route is a few lines that hand a command to
the engine."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ADAPTER_ROOMS = (SRC / "ledger" / "adapters", SRC / "projections" / "stores")
COMPOSITION_ROOT = SRC / "ledger" / "bootstrap.py"
MAX_APPLICATION_LINES = 350
MAX_WRITE_ROUTE_LINES = 10


def _modules(under: Path) -> Iterator[Path]:
    yield from sorted(under.rglob("*.py"))


def _inside(path: Path, rooms: tuple[Path, ...]) -> bool:
    return any(room in path.parents for room in rooms)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


ADAPTER_MODULES = ("ledger.adapters", "projections.stores")


def _is_adapter(module: str) -> bool:
    return any(module == room or module.startswith(room + ".") for room in ADAPTER_MODULES)


def _adapter_classes() -> dict[str, set[str]]:
    """Adapter module -> the classes it defines."""
    found = {}
    for room in ADAPTER_ROOMS:
        for path in _modules(room):
            tree = ast.parse(path.read_text())
            found[_module_name(path)] = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    return found


def _constructions(path: Path, adapters: dict[str, set[str]]) -> Iterator[str]:
    """Calls in one module that build an adapter class it imported, or a boto3 client."""
    tree = ast.parse(path.read_text())
    imported: dict[str, str] = {}  # local name -> what it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            target = imported.get(node.func.id, "")
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            target = f"{imported.get(node.func.value.id, node.func.value.id)}.{node.func.attr}"
        else:
            continue
        module, _, name = target.rpartition(".")
        if (_is_adapter(module) and name in adapters.get(module, set())) or target in (
            "boto3.client",
            "boto3.resource",
        ):
            yield f"{path.relative_to(SRC)}:{node.lineno} builds {target}"


def test_adapters_are_built_only_by_the_composition_root() -> None:
    adapters = _adapter_classes()
    assert "SqsQueue" in adapters["ledger.adapters.sqs_queue"]
    assert "DynamoDBReadModels" in adapters["projections.stores.dynamodb"]
    found = []
    for path in _modules(SRC):
        if path == COMPOSITION_ROOT or _inside(path, ADAPTER_ROOMS):
            continue
        found += _constructions(path, adapters)
    assert found == []
    # The check sees constructions where they are allowed, so it would see them elsewhere.
    assert any("SqsQueue" in line for line in _constructions(COMPOSITION_ROOT, adapters))


def test_no_application_module_is_over_350_lines() -> None:
    sizes = {
        str(path.relative_to(SRC)): len(path.read_text().splitlines())
        for path in _modules(SRC / "ledger" / "application")
    }
    assert sizes["ledger/application/engine.py"] > 100  # the walk sees the real modules
    assert {path: lines for path, lines in sizes.items() if lines > MAX_APPLICATION_LINES} == {}


def _write_routes() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for path in _modules(SRC / "api" / "routers"):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr in ("post", "put", "patch", "delete")
                ):
                    yield f"{path.name}:{node.name}", node


def _lines_without_docstring(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    assert function.end_lineno is not None
    lines = function.end_lineno - function.lineno + 1
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        assert first.end_lineno is not None
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_write_routes_are_a_few_lines() -> None:
    routes = dict(_write_routes())
    assert "payments.py:create_payment" in routes  # async routes are walked too
    assert "webhooks.py:receive_webhook" in routes
    long = {
        name: lines
        for name, function in routes.items()
        if (lines := _lines_without_docstring(function)) > MAX_WRITE_ROUTE_LINES
    }
    assert long == {}
