"""Checkpoints: written atomically, read with ``weights_only=True``, checked before use.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so that
``torch.load(..., weights_only=True)`` can read it without unpickling arbitrary objects.
Every checkpoint carries a ``kind`` string naming what wrote it, so that a checkpoint of
one part handed to another fails with a clear message instead of a shape error.
"""
import os

import torch

from common.cli import UsageError


def save_checkpoint(state, path):
    """Save ``state`` to ``path`` atomically: a crash never leaves a half-written file."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        torch.save(state, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path, kind, map_location="cpu"):
    """Load a checkpoint written by ``save_checkpoint`` and check that it is of ``kind``.

    ``kind`` is a string or a tuple of accepted strings.
    Raises UsageError (one clear line) when the file is missing, unreadable or of another kind.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"cannot read checkpoint {path} (corrupt or not a checkpoint): {first}") from None
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    found = state.get("kind") if isinstance(state, dict) else None
    if found not in kinds:
        raise UsageError(f"checkpoint {path} holds {found or 'something else'!r}, "
                         f"expected {' or '.join(repr(k) for k in kinds)}")
    return state


def load_weights(module, state_dict, path):
    """``module.load_state_dict(state_dict)``, with a mismatch reported as one line."""
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise UsageError(f"checkpoint {path} does not match the model: {detail}") from None
