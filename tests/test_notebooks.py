"""The notebooks run top to bottom on a CPU without MNIST data, so they never rot."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOKS = ["part2_gan/GAN.ipynb", "dcgan/GAN.ipynb", "report/answers.ipynb"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_runs_and_is_committed_executed(path, tmp_path):
    full = os.path.join(REPO, path)
    nb = nbformat.read(full, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("outputs") is not None for c in code)
    assert any(c.outputs for c in code), f"{path} is committed without outputs"
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(full)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_figure_is_in_the_committed_notebook(path):
    """Without its `%matplotlib inline`, a notebook executed with MPLBACKEND=Agg (as CI sets it) runs
    without error but keeps no figure: every cell that shows one must carry its image."""
    nb = nbformat.read(os.path.join(REPO, path), as_version=4)
    showing = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "plt.show()" in c.source]
    assert showing, f"{path} shows no figure: the test has nothing to check"
    missing = [i for i in showing
               if not any("image/png" in o.get("data", {}) for o in nb.cells[i].outputs)]
    assert not missing, f"{path}: cells {missing} show a figure but are committed without it"
