"""Rebuilding networks from checkpoints, and small generator-only exports.

A checkpoint names the class that rebuilds each network as a *spec*:
{"module": "dcgan.model", "class": "Generator", "kwargs": {...}}. Only classes of this
repository's packages are accepted, so a checkpoint cannot make the loader import anything else.
"""
import importlib

from torch import nn

from common.checkpoint import load_checkpoint, load_weights, save_checkpoint
from common.cli import UsageError

ALLOWED_PACKAGES = ("part2_gan", "dcgan", "mode_collapse")
TRAINING_KIND = "gan/training"
GENERATOR_KIND = "gan/generator"


def spec(cls, **kwargs):
    """The spec that rebuilds ``cls(**kwargs)``."""
    return {"module": cls.__module__, "class": cls.__name__, "kwargs": kwargs}


def build(spec_, path="checkpoint"):
    """Instantiate the network a spec names (classes of this repository only)."""
    module_name, class_name = spec_.get("module", ""), spec_.get("class", "")
    if module_name.split(".")[0] not in ALLOWED_PACKAGES:
        raise UsageError(f"{path} names a network outside this repository: {module_name}.{class_name}")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise UsageError(f"{path} names an unknown network {module_name}.{class_name}") from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise UsageError(f"{path} names {module_name}.{class_name}, which is not a network")
    try:
        return cls(**spec_.get("kwargs", {}))
    except TypeError as err:
        raise UsageError(f"{path}: cannot build {class_name}: {err}") from None


def generator_weights(state):
    """The run's generator weights: the moving average of G when the run kept one."""
    return state.get("generator_ema") or state["generator"]


def load_generator(path, device="cpu"):
    """The generator of a training checkpoint or a generator export, in eval mode, and the state dict."""
    state = load_checkpoint(path, (TRAINING_KIND, GENERATOR_KIND), map_location=device)
    G = build(state["generator_spec"], path)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in generator_weights(state).items()}
    load_weights(G, weights, path)
    return G.to(device).eval(), state


def export_generator(training_checkpoint, path, half=True):
    """Write the generator of a training checkpoint alone (float16 when ``half``): a few MB to commit."""
    state = load_checkpoint(training_checkpoint, TRAINING_KIND)
    weights = {k: (v.half() if half and v.is_floating_point() else v) for k, v in generator_weights(state).items()}
    keep = ("generator_spec", "config", "epoch", "step", "seconds", "split", "hardware", "fixed_noise", "ema_decay",
            "evaluations")
    save_checkpoint({"kind": GENERATOR_KIND, "generator": weights, **{k: state[k] for k in keep if k in state}},
                    path)
    return path


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())
