"""Prints what issue 28 measures in the engine: each trainer module's length (goal ≤ 300
lines) and every function in training/engine longer than 60 lines. Exit status 0 always:
it reports, CI does not gate on it yet.

    .venv/bin/python scripts/code_shape.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "training" / "engine"
MODULE_LIMIT = 300
FUNCTION_LIMIT = 60


def long_functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > FUNCTION_LIMIT:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", length))
    return found


def main() -> int:
    print(f"trainer modules (goal ≤ {MODULE_LIMIT} lines)")
    over = 0
    for path in sorted((ENGINE / "trainers").glob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        over += lines > MODULE_LIMIT
        print(f"  {'OVER' if lines > MODULE_LIMIT else 'ok  '} {lines:5d}  {path.relative_to(ROOT)}")
    functions = sorted((f for p in sorted(ENGINE.rglob("*.py")) for f in long_functions(p)), key=lambda f: -f[1])
    print(f"functions in training/engine over {FUNCTION_LIMIT} lines: {len(functions)}")
    for name, length in functions:
        print(f"  {length:5d}  {name}")
    print(f"summary: {over} trainer modules over {MODULE_LIMIT} lines, {len(functions)} functions over {FUNCTION_LIMIT} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
