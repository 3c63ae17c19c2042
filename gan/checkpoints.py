"""Rebuilding networks from checkpoints, and small generator-only exports.

A checkpoint names each of its networks by a *spec*, {"name": "dcgan.Generator", "kwargs":
{...}}, and NETWORKS below -- the one registry, an explicit dict from name to class -- says
which class a name means. Nothing is imported by a name read from a file: a checkpoint can
only rebuild the networks listed here.
"""
from common.checkpoint import CheckpointError, load_checkpoint, load_weights, require, save_checkpoint
from dcgan import model as dcgan_model
from gan.trainer import TRAINING_KIND
from mode_collapse import models as models_2d
from part2_gan import model as mlp_model

GENERATOR_KIND = "gan/generator"

NETWORKS = {
    "mlp.Generator": mlp_model.Generator,
    "mlp.Discriminator": mlp_model.Discriminator,
    "dcgan.Generator": dcgan_model.Generator,
    "dcgan.Discriminator": dcgan_model.Discriminator,
    "2d.Generator": models_2d.Generator2D,
    "2d.Discriminator": models_2d.Discriminator2D,
    "2d.MultiGenerator": models_2d.MultiGenerator,
    "stacked.ImageGeneratorBank": models_2d.ImageGeneratorBank,
}


def spec(name, **kwargs):
    """The spec that rebuilds ``NETWORKS[name](**kwargs)``."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}: choose from {', '.join(NETWORKS)}")
    return {"name": name, "kwargs": kwargs}


def build(spec_, path="checkpoint"):
    """Instantiate the network a spec names (a class of NETWORKS only)."""
    if not isinstance(spec_, dict) or spec_.get("name") not in NETWORKS:
        name = spec_.get("name") if isinstance(spec_, dict) else spec_
        raise CheckpointError(f"{path} names a network this repository does not have: {name!r}")
    try:
        return NETWORKS[spec_["name"]](**spec_.get("kwargs", {}))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot build {spec_['name']}: {err}") from None


def generator_weights(state):
    """The run's generator weights: the moving average of G when the run kept one."""
    return state.get("generator_ema") or state["generator"]


def load_generator(path, device="cpu", family=None):
    """The generator of a training checkpoint or a generator export, in eval mode, and the state dict.

    ``family`` (e.g. ("mlp.", "dcgan.")) restricts the networks accepted: a 2D mode-collapse
    generator handed to an MNIST script is refused by name, not by a shape error later.
    """
    state = load_checkpoint(path, (TRAINING_KIND, GENERATOR_KIND), map_location=device)
    (networks,) = require(state, ("networks",), path)
    g_spec = networks.get("generator") if isinstance(networks, dict) else None
    if family and not (isinstance(g_spec, dict) and str(g_spec.get("name", "")).startswith(family)):
        raise CheckpointError(f"{path} holds a {g_spec.get('name') if isinstance(g_spec, dict) else g_spec} "
                              f"generator; this script takes {' or '.join(f + '*' for f in family)} generators")
    G = build(g_spec, path)
    weights = generator_weights(state)
    if not isinstance(weights, dict):
        raise CheckpointError(f"checkpoint {path} holds weights that are not tensors")
    load_weights(G, {k: v.float() if getattr(v, "is_floating_point", lambda: False)() else v
                     for k, v in weights.items()}, path)
    return G.to(device).eval(), state


def export_generator(training_checkpoint, path, half=True):
    """Write the generator of a training checkpoint alone (float16 when ``half``): a few MB to commit."""
    state = load_checkpoint(training_checkpoint, TRAINING_KIND)
    weights = {k: (v.half() if half and v.is_floating_point() else v) for k, v in generator_weights(state).items()}
    keep = ("networks", "config", "config_type", "step", "seconds", "split", "hardware", "fixed_noise", "ema_decay",
            "evaluations")
    save_checkpoint({"kind": GENERATOR_KIND, "generator": weights, **{k: state[k] for k in keep if k in state}}, path)
    return path


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())
