"""The notebooks in notebooks/ define no logic, are committed with their outputs, and still run top to bottom.

Each notebook is executed headlessly (nbclient, kernel ``python3``) from a copy held in memory, with
``notebooks/`` as its working directory, so the committed file is never rewritten. Where ``../shared`` is
absent the evaluation and recognizer notebooks take their rendered-data branch.
"""

import ast
import os
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
# notebook -> image outputs it must show (overlays, grids, plots)
IMAGES = {"quickstart": 2, "evaluation": 3, "recognizer": 3}
# seconds one cell may take: the evaluation notebook reads every photo in one cell on a slow, shared CPU
CELL_TIMEOUT_S = 900
# committed notebooks stay small enough to render on the web and to diff
MAX_NOTEBOOK_BYTES = 1_500_000
IMAGE_MIMES = ("image/png", "image/jpeg")


def read(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def image_outputs(nb) -> int:
    return sum(any(m in out.get("data", {}) for m in IMAGE_MIMES) for cell in code_cells(nb) for out in cell.outputs)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_notebook_defines_no_logic(name):
    """Notebooks only call the package: no functions, classes or lambdas of their own."""
    for k, cell in enumerate(code_cells(read(name))):
        tree = ast.parse(cell.source)  # also fails on IPython magics, which would tie the code to Jupyter
        defined = [type(node).__name__ for node in ast.walk(tree)
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defined, f"{name}.ipynb code cell {k} defines {defined}: move that logic into the package"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_notebook_is_committed_with_outputs(name):
    path = NOTEBOOKS / f"{name}.ipynb"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    nb = read(name)
    nbformat.validate(nb)
    cells = code_cells(nb)
    # executed once, top to bottom, in a fresh kernel
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert all(cell.outputs for cell in cells[1:]), "every cell after the imports shows something"
    errors = [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{name}.ipynb was committed with an error: {errors[0].get('ename')}"
    assert image_outputs(nb) == IMAGES[name]


@pytest.mark.system
@pytest.mark.parametrize("name", sorted(IMAGES))
def test_notebook_runs(name, monkeypatch):
    import nbclient

    # the kernel is a child process: it finds the package from this checkout and never tries the hub
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nb = read(name)
    for cell in code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, when a cell fails
    assert image_outputs(nb) == IMAGES[name]
