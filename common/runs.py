"""What every training script does with its run folder and its random state.

- :func:`prepare_out` refuses an ``--out`` that holds another run unless the user says
  ``--resume`` (continue it) or ``--overwrite`` (replace it), and checks that it can be written
  before any training starts, so a typo never costs a run and a rerun never replaces one.
- :func:`resumed_config` is the rule for a resumed run's settings: the checkpoint's, with the
  options given again on the command line applied only where changing them is safe.
- :func:`rng_state` / :func:`set_rng_state`: the random state a checkpoint carries, so that a
  resumed run draws exactly what the uninterrupted one would have.
"""
import os
import shutil
import tempfile

import torch

from common.cli import UsageError
from common.paths import REPO, REPORT

RUN_MARKERS = ("checkpoint.pt", "metrics.json")


class Diverged(RuntimeError):
    """A loss became NaN or infinite: training stopped, and the last good checkpoint was kept."""


def free_folder(out):
    """``out`` if it is free (missing or empty), else the first free ``out-2``, ``out-3``, ..."""
    candidate, n = out, 1
    while os.path.isdir(candidate) and os.listdir(candidate) or os.path.isfile(candidate):
        n += 1
        candidate = f"{out.rstrip(os.sep)}-{n}"
    return candidate


def writable_folder(out):
    """Create ``out`` if needed and check that a file can be written there; UsageError if not.

    Refuses a file, the repository itself and its committed results (report/): runs go elsewhere.
    """
    full = os.path.abspath(out)
    if os.path.exists(full) and not os.path.isdir(full):
        raise UsageError(f"--out {out} is a file, not a folder: choose another --out")
    if full == REPO or full == REPORT or full.startswith(REPORT + os.sep) or REPO.startswith(full + os.sep):
        raise UsageError(f"--out {out} is the repository's own or its committed results' folder: "
                         "runs go under runs/ (publish results with the script's --publish or --results)")
    try:
        os.makedirs(full, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=full, prefix=".write-test"):
            pass
    except OSError as err:
        raise UsageError(f"cannot write to --out {out}: {err.strerror or err}") from None
    return out


def prepare_out(out, resume=False, overwrite=False, chosen=True):
    """Make ``out`` ready for a run and return the folder to use; UsageError with the fix in one line.

    ``chosen``: the user named ``out``. A default ``out`` that holds a run is not an error: the
    run goes to the next free ``out-N`` instead (and says so), so rerunning a README command works.
    """
    if not chosen and not resume and not overwrite:
        out = free_folder(out)
    if resume and overwrite:
        raise UsageError("--resume and --overwrite contradict each other: choose one")
    writable_folder(out)
    entries = [e for e in os.listdir(out) if not e.startswith(".write-test")]
    if resume:
        if "checkpoint.pt" not in entries:
            raise UsageError(f"--resume: no checkpoint.pt in {out} to continue from")
    elif entries and overwrite:
        if not any(name in entries for name in RUN_MARKERS):
            raise UsageError(f"--overwrite: {out} does not look like a run folder (no checkpoint.pt or "
                             "metrics.json); remove it yourself if it should go")
        shutil.rmtree(out)
        os.makedirs(out)
    elif entries:
        raise UsageError(f"--out {out} already holds files of another run: pass --resume to continue it, "
                         "--overwrite to replace it, or choose another --out")
    return out


def resumed_config(saved, given, explicit, may_change, where="checkpoint"):
    """The settings a resumed run continues with.

    saved: the config in the checkpoint; given: the config parsed from this command line;
    explicit: the option names the command line set (common.config.explicit_options).
    Options in ``may_change`` (how long to train, where and how quietly) take the new value
    when given; any other option given with a value other than the checkpoint's is refused,
    naming it, because the checkpoint's optimiser state and history belong to the old value.
    """
    import dataclasses
    updates = {}
    for name in sorted(explicit):
        if not hasattr(saved, name):
            continue
        old, new = getattr(saved, name), getattr(given, name)
        if name in may_change:
            updates[name] = new
        elif old != new:
            raise UsageError(f"--{name} {new} differs from the run being resumed ({where} was trained with "
                             f"{name}={old}): a resumed run keeps its settings; start a new --out to change it")
    return dataclasses.replace(saved, **updates)


def rng_state():
    """torch's random state on the CPU and every CUDA device (what our training code draws from)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def check_finite(loss, what, where, checkpoint_path):
    """Raise Diverged naming the loss, where it happened and the checkpoint that stays."""
    if torch.isfinite(loss):
        return
    last = (f"the last good checkpoint is {checkpoint_path}" if os.path.exists(checkpoint_path)
            else "no checkpoint was written yet")
    raise Diverged(f"training stopped: the {what} loss became {loss.item()} at {where}; {last}")
