"""The architecture's import rules, checked on the source: stages stand alone, library code never needs the CLI.

- `detectors/` and `recognizer/` import neither `pipeline` nor each other (the pipeline composes them);
- no library module imports `pipeline.commands` (the command line sits on top of the library, not inside it);
- model frameworks stay in the stages' adapters: `pipeline/` imports no torch, transformers, easyocr,
  onnxruntime, rapidocr or openvino.

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("detectors", "recognizer")
FRAMEWORKS = ("torch", "torchvision", "transformers", "easyocr", "onnxruntime", "rapidocr", "openvino", "nncf")


def _imports(path: Path, root: Path = ROOT) -> Iterator[Tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path``, relative ones resolved from ``root``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from pipeline import commands` imports pipeline.commands
                yield node.lineno, f"{module}.{alias.name}"


def _modules(*packages: str) -> List[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _violations(paths: List[Path], bad) -> List[str]:
    return [f"{p.relative_to(ROOT)}:{line}: imports {mod}" for p in paths for line, mod in _imports(p) if bad(mod)]


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_neither_the_pipeline_nor_the_other_stage(stage):
    others = {"pipeline"} | (set(STAGES) - {stage})
    assert _violations(_modules(stage), lambda m: _top(m) in others) == []


def test_library_code_never_imports_the_command_line():
    library = [p for p in _modules("pipeline", *STAGES) if "commands" not in p.relative_to(ROOT).parts]
    library = [p for p in library if p.name not in ("cli.py", "__main__.py")]
    bad = _violations(library, lambda m: m == "pipeline.commands" or m.startswith("pipeline.commands."))
    assert bad == []


def test_model_frameworks_stay_in_the_stages():
    assert _violations(_modules("pipeline"), lambda m: _top(m) in FRAMEWORKS) == []


def test_the_rules_see_a_violation(tmp_path):
    """The checker itself: a stage module importing the pipeline lazily, relative and absolute, is caught."""
    stage = tmp_path / "detectors"
    stage.mkdir()
    (stage / "bad.py").write_text("def f():\n    from pipeline.core import Pipeline\n    from ..pipeline import x\n"
                                  "    import pipeline.commands.read\n")
    found = [m for _, m in _imports(stage / "bad.py", tmp_path)]
    assert "pipeline.core" in found and "pipeline.x" in found and "pipeline.commands.read" in found
