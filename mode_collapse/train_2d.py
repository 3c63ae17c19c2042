"""Train one method on one 2D mixture (ring of 8 or grid of 25) and measure its mode collapse.

    python mode_collapse/train_2d.py --method unrolled5 --dataset ring --seed 0 --threads 1

Writes to --out: metrics.json (modes captured, high-quality fraction, KL to uniform, seconds,
and the same measured at every snapshot), snapshots.pt (2,500 samples from one fixed noise
batch at every snapshot), history.json and losses.png (the trainer's), checkpoint.pt.
Every method runs in gan/trainer.py's loop; only the objective, the networks and the
optimisers differ, as the table METHODS says. The run's Run2DConfig is saved in its checkpoint
and its record; --resume continues a run exactly.
"""
import dataclasses
import os
from dataclasses import dataclass

import torch

from common.checkpoint import load_checkpoint, save_checkpoint
from common.cli import (ArgumentParser, add_common_args, hardware_description, non_negative_int, positive_float,
                        positive_int, run_main, seed_everything, setup_run, write_json)
from common.config import config_from_dict, explicit_options
from common.runs import prepare_out
from gan.checkpoints import build as build_spec
from gan.checkpoints import spec
from gan.objectives import MADGAN, WGANGP, NonSaturatingGAN, UnrolledGAN, WGANClip, generator_labels
from gan.trainer import TRAINING_KIND, GANTrainer
from mode_collapse.metrics import N_SAMPLES, generator_modes, mode_metrics
from mode_collapse.mixtures import MixtureBatches, mixture

# Settings every method shares: the networks (models.py) and Adam's betas for the GANs.
COMMON = {"latent_dim": 32, "g_hidden": 128, "g_layers": 2, "d_hidden": 128, "d_layers": 3}
# Per dataset, the same for every method: batch, generator updates, MAD-GAN's k, and the
# generator learning rate of the Adam-trained GANs (GAN, Unrolled GAN, MAD-GAN).
DATASETS = {
    "ring": {"batch_size": 250, "steps": 2000, "generators": 10, "gan_lr_g": 1e-3},
    "grid": {"batch_size": 250, "steps": 4000, "generators": 50, "gan_lr_g": 5e-4},
}
# What differs between methods; an entry named after a dataset overrides the rest there.
# Optimisers follow each paper: the GAN and the Unrolled GAN share Metz et al.'s Adam(beta1 =
# 0.5) with D's learning rate 1e-4 below G's (the GAN is the Unrolled GAN with K = 0; with D's
# rate at 1e-3 every unrolled run collapsed to one or two ring modes), RMSProp(5e-5) with clip
# 0.01 and n_critic 5 for WGAN, Adam(betas = (0.5, 0.9)), lambda = 10 and n_critic 5 for
# WGAN-GP, whose learning rate is raised from the paper's 1e-4 (no mode captured in 2,000 steps
# on the ring) to 1e-3. The unrolled runs are the slowest (K + 1 discriminator passes with
# second-order terms per generator step): on the grid they get 2,000 (K = 5) and 1,000
# (K = 10) generator steps. MAD-GAN on the grid: k = 50 generators (two per mode) and batch 500
# (10 samples per generator and step), 8,000 steps, G's learning rate lowered to 2e-4 (D's stays
# 1e-3), and both rates decayed linearly to 0 over the run (lr_decay): without the decay its
# generators kept oscillating around their modes to the end.
METHODS = {
    "gan": {"objective": "gan", "optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.999)},
    "wgan": {"objective": "wgan", "optimizer": "rmsprop", "lr": 5e-5, "clip": 0.01, "n_critic": 5},
    "wgan_gp": {"objective": "wgan_gp", "optimizer": "adam", "lr": 1e-3, "betas": (0.5, 0.9), "penalty": 10.0,
                "n_critic": 5},
    "unrolled5": {"objective": "unrolled", "optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.999),
                  "unroll_steps": 5, "grid": {"steps": 2000}},
    "unrolled10": {"objective": "unrolled", "optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.999),
                   "unroll_steps": 10, "grid": {"steps": 1000}},
    "madgan": {"objective": "madgan", "optimizer": "adam", "lr": 1e-3, "betas": (0.5, 0.999),
               "grid": {"batch_size": 500, "steps": 8000, "lr_g": 2e-4, "lr_decay": True}},
}
GAN_FAMILY = ("gan", "unrolled", "madgan")


@dataclass
class Run2DConfig:
    """Everything that defines a 2D run (method_config builds it from the tables above)."""
    method: str
    dataset: str
    objective: str
    optimizer: str
    lr: float
    lr_g: float
    batch_size: int
    steps: int
    latent_dim: int
    g_hidden: int
    g_layers: int
    d_hidden: int
    d_layers: int
    n_critic: int = 1
    betas: list = None
    clip: float = None
    penalty: float = None
    unroll_steps: int = None
    generators: int = None
    lr_decay: bool = False
    generator_form: str = "non_saturating"
    pack: int = 1
OVERRIDABLE = ("latent_dim", "g_hidden", "g_layers", "d_hidden", "d_layers", "batch_size", "steps", "lr", "lr_g",
               "generators", "unroll_steps", "pack")


def method_config(method, dataset="ring", **overrides):
    """The full settings of a method on a dataset: COMMON, DATASETS, METHODS (then its entry for the
    dataset), then the non-None overrides.

    lr_g, the generator's learning rate, is the dataset's gan_lr_g for the Adam-trained GANs
    (GAN, Unrolled GAN, MAD-GAN) and the method's lr for the WGANs.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    settings = dict(DATASETS[dataset])
    gan_lr_g = settings.pop("gan_lr_g")
    per_method = dict(METHODS[method])
    per_dataset = {name: per_method.pop(name, {}) for name in DATASETS}[dataset]
    config = {"method": method, "dataset": dataset, "n_critic": 1, **COMMON, **settings, **per_method, **per_dataset}
    # a method's own lr_g for a dataset wins over the dataset's
    config["lr_g"] = per_dataset.get("lr_g", gan_lr_g if config["objective"] in GAN_FAMILY else config["lr"])
    if config["objective"] != "madgan":
        del config["generators"]
    if overrides.get("lr") is not None and overrides.get("lr_g") is None:
        overrides["lr_g"] = overrides["lr"]
    config.update({k: v for k, v in overrides.items() if v is not None})
    if "betas" in config:
        config["betas"] = list(config["betas"])
    if config.get("pack", 1) > 1 and config["objective"] == "madgan":
        raise ValueError("--pack is PacGAN's packed discriminator; MAD-GAN's D labels single samples")
    if config["batch_size"] % config.get("pack", 1):
        raise ValueError(f"--batch_size {config['batch_size']} cannot be packed in groups of {config['pack']}: "
                         f"use a multiple of {config['pack']}")
    return Run2DConfig(**config)


def network_specs(config, mixture_):
    """Specs (gan.checkpoints.spec) of the generator and discriminator a config asks for."""
    c = config
    # the grid spans [-4, 4]^2, the ring [-2, 2]^2: both networks work in units of that extent
    scale = float(mixture_.means.abs().max())
    g_kwargs = {"latent_dim": c.latent_dim, "hidden": c.g_hidden, "layers": c.g_layers, "scale": scale}
    if c.objective == "madgan":
        generator = spec("2d.MultiGenerator", k=c.generators, **g_kwargs)
        d_outputs = c.generators + 1
    else:
        generator, d_outputs = spec("2d.Generator", **g_kwargs), 1
    packing = {"pack": c.pack} if c.pack != 1 else {}  # PacGAN (Lin et al., 2018)
    return generator, spec("2d.Discriminator", hidden=c.d_hidden, layers=c.d_layers, outputs=d_outputs, scale=scale,
                           **packing)


def build(config, data, device):
    """(G, D, objective, opt_G, opt_D) of a Run2DConfig; ``data`` is the MixtureBatches."""
    c = config
    g_spec, d_spec = network_specs(config, data.mixture)
    G, D = build_spec(g_spec).to(device), build_spec(d_spec).to(device)
    if c.optimizer == "adam":
        opt_G = torch.optim.Adam(G.parameters(), lr=c.lr_g, betas=tuple(c.betas))
        opt_D = torch.optim.Adam(D.parameters(), lr=c.lr, betas=tuple(c.betas))
    else:
        opt_G = torch.optim.RMSprop(G.parameters(), lr=c.lr_g)
        opt_D = torch.optim.RMSprop(D.parameters(), lr=c.lr)
    objective = {
        "gan": lambda: NonSaturatingGAN(),
        "wgan": lambda: WGANClip(c.clip, c.n_critic),
        "wgan_gp": lambda: WGANGP(c.penalty, c.n_critic),
        "unrolled": lambda: UnrolledGAN(c.unroll_steps, data.sample, opt_D, c.generator_form),
        "madgan": lambda: MADGAN(c.generators),
    }[c.objective]()
    return G, D, objective, opt_G, opt_D


class ModeSnapshots:
    """A trainer callback: the run's samples of the fixed noise, and their mode metrics, per call."""

    def __init__(self, mixture_):
        self.mixture = mixture_
        self.steps, self.samples, self.curve = [], [], []

    @torch.no_grad()
    def __call__(self, trainer):
        G = trainer.generator
        was_training = G.training
        x = G.eval()(trainer.fixed_noise).cpu()
        G.train(was_training)
        m = mode_metrics(x, self.mixture)
        self.steps.append(trainer.step)
        self.samples.append(x)
        self.curve.append({"step": trainer.step, "modes": m["modes"], "high_quality": m["high_quality"], "kl": m["kl"]})

    def state(self):
        return {"steps": list(self.steps), "samples": list(self.samples), "curve": list(self.curve)}

    def load(self, state):
        self.steps, self.samples, self.curve = state["steps"], state["samples"], state["curve"]


@torch.no_grad()
def final_samples(G, n, seed, device):
    """n samples from fresh noise drawn by a private generator (the global one untouched)."""
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(10_000 + seed)).to(device)
    G.eval()
    return G(z).cpu()


def make_trainer(config, seed, out, device, snapshots, quiet):
    """The trainer of a run, with the snapshot and checkpoint callbacks; and the snapshot hook."""
    if config.steps % snapshots:
        raise ValueError(f"--steps {config.steps} is not a multiple of --snapshots {snapshots}")
    seed_everything(seed)
    mix = mixture(config.dataset)
    data = MixtureBatches(mix, config.batch_size, device)
    G, D, objective, opt_G, opt_D = build(config, data, device)
    g_spec, d_spec = network_specs(config, mix)
    meta = {"networks": {"generator": g_spec, "discriminator": d_spec}, "split": config.dataset, "seed": seed,
            "config": dataclasses.asdict(config), "config_type": "Run2DConfig", "snapshots": snapshots}
    trainer = GANTrainer(G, D, objective, opt_G, opt_D, data, config.steps, config.latent_dim, device=device,
                         n_fixed=N_SAMPLES, lr_decay=config.lr_decay, meta=meta, quiet=quiet,
                         desc=f"{config.method} on {config.dataset}", checkpoint_path=os.path.join(out, "checkpoint.pt"))
    hook = ModeSnapshots(mix)
    every = config.steps // snapshots
    trainer.add_callback(hook, every=every, at=(0,))

    def checkpoint(t):
        save_checkpoint({**t.state_dict(), "snapshots": hook.state()}, t.checkpoint_path)
    trainer.add_callback(checkpoint, every=every, at_end=True)
    return trainer, hook


def train_2d(config, seed, out, device="cpu", snapshots=10, quiet=True, resume=False):
    """Train a Run2DConfig from ``seed``; returns the record of the run (also OUT/metrics.json).

    The fixed noise batch (2,500 samples) is measured at the start and every steps / snapshots
    generator steps; the final measurement uses 2,500 fresh samples.
    """
    device = torch.device(device)
    trainer, hook = make_trainer(config, seed, out, device, snapshots, quiet)
    if resume:
        state = load_checkpoint(trainer.checkpoint_path, TRAINING_KIND, map_location=device)
        if state.get("config") != trainer.meta["config"] or state.get("seed") != seed:
            raise ValueError(f"--resume: {trainer.checkpoint_path} is a run of other settings")
        trainer.load_state_dict(state, trainer.checkpoint_path)
        hook.load(state["snapshots"])
    summary = trainer.fit()
    samples = final_samples(trainer.G, N_SAMPLES, seed, device)
    final, mix = mode_metrics(samples, hook.mixture), hook.mixture
    record = {"method": config.method, "dataset": config.dataset, "seed": seed, "modes": final["modes"],
              "high_quality": final["high_quality"], "kl": final["kl"], "seconds": summary["seconds"],
              "generator_steps": summary["generator_steps"], "discriminator_steps": summary["discriminator_steps"],
              "threshold": final["threshold"], "n_samples": final["n_samples"],
              "mode_histogram": final["mode_histogram"], "curve": hook.curve, "config": trainer.meta["config"],
              "hardware": hardware_description(device)}
    if config.objective == "madgan":
        record["generators"] = generator_modes(samples, generator_labels(N_SAMPLES, config.generators),
                                               config.generators, mix)
    save_checkpoint({"kind": "mode_collapse/snapshots", "steps": torch.tensor(hook.steps),
                     "samples": torch.stack(hook.samples), "means": mix.means, "std": mix.std},
                    os.path.join(out, "snapshots.pt"))
    write_json(os.path.join(out, "metrics.json"), record)
    return record


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=list(METHODS), default="gan")
    p.add_argument("--dataset", choices=list(DATASETS), default="ring")
    p.add_argument("--steps", type=positive_int, default=None, help="generator updates (default: the dataset's)")
    p.add_argument("--snapshots", type=positive_int, default=10, help="times the samples are measured during training")
    p.add_argument("--batch_size", type=positive_int, default=None, help="default: the dataset's")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="discriminator learning rate, and the generator's unless --lr_g (default: the method's)")
    p.add_argument("--lr_g", type=positive_float, default=None, help="generator learning rate")
    p.add_argument("--latent_dim", type=positive_int, default=None, help=f"default {COMMON['latent_dim']}")
    for net, name in (("g", "generator"), ("d", "discriminator")):
        p.add_argument(f"--{net}_hidden", type=positive_int, default=None,
                       help=f"units per hidden layer of the {name} (default {COMMON[net + '_hidden']})")
        p.add_argument(f"--{net}_layers", type=positive_int, default=None,
                       help=f"hidden layers of the {name} (default {COMMON[net + '_layers']})")
    p.add_argument("--generators", type=positive_int, default=None, help="MAD-GAN's k (default: the dataset's)")
    p.add_argument("--unroll_steps", type=non_negative_int, default=None, help="Unrolled GAN's K")
    p.add_argument("--pack", type=positive_int, default=None,
                   help="PacGAN: the discriminator judges this many samples at once (the batch must be a multiple)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (its own settings)")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common_args(p, out=None)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    device = setup_run(args)
    out = args.out or os.path.join("runs", "mode_collapse", f"{args.dataset}_{args.method}_seed{args.seed}")
    out = prepare_out(out, args.resume, args.overwrite, chosen="out" in explicit_options(parser, argv))
    if args.resume:
        state = load_checkpoint(os.path.join(out, "checkpoint.pt"), TRAINING_KIND)
        config, args.seed, args.snapshots = (config_from_dict(Run2DConfig, state["config"]), state["seed"],
                                             state["snapshots"])
    else:
        config = method_config(args.method, args.dataset, **{k: getattr(args, k) for k in OVERRIDABLE})
    record = train_2d(config, args.seed, out, device, args.snapshots, quiet=args.quiet, resume=args.resume)
    print(f"{config.method} on {config.dataset}, seed {args.seed}: {record['modes']}/{len(record['mode_histogram'])} "
          f"modes, {100 * record['high_quality']:.1f}% high quality, KL "
          f"{record['kl'] if record['kl'] is None else round(record['kl'], 3)}, {record['seconds']:.0f} s")
    print(f"wrote metrics.json, snapshots.pt, checkpoint.pt in {out}")
    return record


if __name__ == "__main__":
    run_main(main)
