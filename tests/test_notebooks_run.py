"""Every source lab (with its solutions) and every lecture notebook runs top to bottom in a real kernel,
with no error and nothing on stderr."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted(ROOT.glob("source/*/*.ipynb"))
LECTURES = sorted(ROOT.glob("notebooks/*.ipynb"))
# Labs run as a student runs them and as the autograder does; lecture notebooks are never graded.
CASES = [pytest.param(p, False, id=f"{p.stem}-jupyterlab") for p in LABS + LECTURES] + \
        [pytest.param(p, True, id=f"{p.stem}-autograde") for p in LABS]


def run(path: Path, env_autograde: bool, monkeypatch) -> nbformat.NotebookNode:
    if env_autograde:
        monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    else:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def problems(nb) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found.append(f"cell {index} wrote to stderr: {output.text[:200]!r}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path, autograde", CASES)
def test_notebook_runs_cleanly(path, autograde, monkeypatch):
    assert problems(run(path, autograde, monkeypatch)) == []
