import os
import subprocess
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST = os.path.join(os.path.dirname(REPO), "shared", "data")
# The tests' networks are small: one thread is as fast as two, and immune to a busy second core.
torch.set_num_threads(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")


@pytest.fixture(autouse=True)
def _seed_and_no_download(monkeypatch):
    torch.manual_seed(0)
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")  # a missing split must fail here even with network


def run_script(path, *args, cwd=REPO, timeout=300):
    """Run a repository script as a user would; returns the CompletedProcess."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore", MNIST_DOWNLOAD="0", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, os.path.join(REPO, path), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, *fragments):
    """A user error: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
