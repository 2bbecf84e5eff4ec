"""Every source lab (with its solutions) and every lecture notebook runs top to bottom in a real kernel,
as in JupyterLab, with no error and nothing on stderr. (Under autograde, the labs' solutions run in
the pipeline tests, which check the same of the graded notebook.)"""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("source/*/*.ipynb")) + sorted(ROOT.glob("notebooks/*.ipynb"))


def run(path: Path, monkeypatch, sockets: Path) -> nbformat.NotebookNode:
    """Run the notebook in a kernel that talks over unix sockets in ``sockets``: TCP ports, picked free and then
    bound by the kernel, can be taken in between by a kernel of another test running beside it."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbformat.read(path, as_version=4)
    config = Config({"KernelManager": {"transport": "ipc", "ip": str(sockets / "kernel")}})
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   config=config).execute()
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
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_cleanly(path, monkeypatch, tmp_path):
    assert problems(run(path, monkeypatch, tmp_path)) == []
