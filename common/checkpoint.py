"""Checkpoints: written atomically, read with ``weights_only=True``, checked before use.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so that
``torch.load(..., weights_only=True)`` can read it without unpickling arbitrary objects.
Every checkpoint carries a ``kind`` string naming what wrote it, so that a checkpoint of
one part handed to another fails with a clear message instead of a shape error.
"""
import os

import torch

from common.cli import write_atomic


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, of another kind, or not matching the model."""


def save_checkpoint(state, path):
    """Save ``state`` to ``path`` atomically: a crash never leaves a half-written file."""
    def write(tmp):
        torch.save(state, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    return write_atomic(path, write)


def load_checkpoint(path, kind, map_location="cpu"):
    """Load a checkpoint written by ``save_checkpoint`` and check that it is of ``kind``.

    ``kind`` is a string or a tuple of accepted strings. Raises FileNotFoundError when the
    file is missing, CheckpointError when it is unreadable or of another kind.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt or crafted file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"cannot read checkpoint {path} (corrupt or not a checkpoint): {first}") from None
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    found = state.get("kind") if isinstance(state, dict) else None
    if found not in kinds:
        raise CheckpointError(f"checkpoint {path} holds {found or 'something else'!r}, "
                              f"expected {' or '.join(repr(k) for k in kinds)}")
    return state


def require(state, keys, path):
    """The entries ``keys`` of a checkpoint, or CheckpointError naming the first one missing."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing[0]!r}: it was not written by this repository's code")
    return [state[k] for k in keys]


def load_weights(module, state_dict, path):
    """``module.load_state_dict(state_dict)``, with a mismatch reported as one CheckpointError line."""
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"checkpoint {path} holds weights that are not tensors")
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise CheckpointError(f"checkpoint {path} does not match the model: {detail}") from None
