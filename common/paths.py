"""Where the curated results live, for scripts, notebooks and the report builder."""
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(REPO, "report")
RESULTS = os.path.join(REPORT, "results")
FIGURES = os.path.join(REPORT, "figures")
CHECKPOINTS = os.path.join(REPORT, "checkpoints")


def repo_relative(path):
    """``path`` relative to the repository when it lies inside it (results files name files so)."""
    full = os.path.abspath(path)
    return os.path.relpath(full, REPO) if full.startswith(REPO + os.sep) else os.fspath(path)


def load_result(name):
    """The committed results file report/results/NAME.json."""
    with open(os.path.join(RESULTS, f"{name}.json")) as f:
        return json.load(f)
