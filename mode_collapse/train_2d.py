"""Train one method on one 2D mixture (ring of 8 or grid of 25) and measure its mode collapse.

    python mode_collapse/train_2d.py --method unrolled5 --dataset ring --seed 0 --threads 1

Writes to --out: metrics.json (modes captured, high-quality fraction, KL to uniform, seconds,
and the same measured at every snapshot), snapshots.pt (2,500 samples from one fixed noise
batch at every snapshot), history.json and losses.png (the trainer's), checkpoint.pt.
Every method runs in gan/trainer.py's loop. --setting picks the networks, batch, steps and
mixtures (SETTINGS: ours, or the papers' -- PacGAN's and VEEGAN's); within a setting every method
gets the same budget, and only the objective, the optimiser (METHODS) and the learning rates
(RATES, or the tuned ones that sweep_2d.py passes) differ. The run's Run2DConfig is saved in its
checkpoint and its record; --resume continues a run exactly.
"""
import dataclasses
import os
from dataclasses import dataclass, field

import torch

from common.checkpoint import load_checkpoint, save_checkpoint
from common.cli import (ArgumentParser, add_common_args, add_resume_args, hardware_description, non_negative_int,
                        positive_float, positive_int, run_main, seed_everything, setup_run, write_json)
from common.config import config_from_dict, explicit_options
from common.runs import prepare_out
from gan.checkpoints import build as build_spec
from gan.checkpoints import spec
from gan.objectives import MADGAN, WGANGP, NonSaturatingGAN, UnrolledGAN, WGANClip, generator_labels
from gan.trainer import TRAINING_KIND, GANTrainer
from mode_collapse.metrics import N_SAMPLES, generator_modes, mode_metrics
from mode_collapse.mixtures import MixtureBatches, mixture
from mode_collapse.models import init_normal_

DATASETS = ("ring", "grid")
# Two settings. Within a setting and a dataset every method gets the same budget -- the same
# generator steps and the same batch (of samples; PacGAN packs it into batch / m decisions) -- and
# the same networks; only the objective, the optimiser and the learning rates differ. A setting
# holds the networks, the batch, the steps and MAD-GAN's k per dataset, the mixtures' parameters,
# and Adam's betas for the GAN family (GAN, Unrolled GAN, PacGAN, MAD-GAN).
#  - ours: the repository's small MLPs, in units of the data's extent (models.py).
#  - paper: PacGAN's 2D setting (Lin et al., 2018, its 2D experiments, and the authors' code,
#    fjxmlzn/PacGAN synthetic_data_experiments/2D*_GAN&PacGAN/config.py), which follows VEEGAN
#    (Srivastava et al., 2017): z ~ N(0, I_2); G four hidden layers of 400 with BatchNorm and ReLU;
#    D three maxout layers of 200 units and 5 pieces; weights N(0, 0.02), biases 0; Adam(1e-4,
#    beta1 = 0.8); batch 100; the ring at radius 1 with std 0.01, the grid with std 0.05. The
#    papers train 400 epochs of 100,000 samples (400,000 steps); here our setting's 2,000 steps on
#    the ring and 4,000 on the grid, the same for every method. Fewer learn nothing: at 500 ring
#    and 800 grid steps (what would fit the sweep into an hour on 2 cores) the GAN captured no
#    mode, and at 1,000 steps it had just begun on the ring. The paper's networks cost 17 to 370
#    ms per step on one core (bench.py; the Unrolled GAN with K = 10 the most), so this sweep
#    takes hours; sweep_2d.py --steps N and --methods trade it down.
SETTINGS = {
    "ours": {"networks": {"latent_dim": 32, "g_hidden": 128, "g_layers": 2, "g_batch_norm": False, "d_hidden": 128,
                          "d_layers": 3, "d_maxout": 1, "scaled": True, "init_std": None},
             "batch_size": 256, "gan_betas": (0.5, 0.999),
             "ring": {"steps": 2000, "generators": 10, "mixture": {}},
             "grid": {"steps": 4000, "generators": 50, "mixture": {}}},
    "paper": {"networks": {"latent_dim": 2, "g_hidden": 400, "g_layers": 4, "g_batch_norm": True, "d_hidden": 200,
                           "d_layers": 3, "d_maxout": 5, "scaled": False, "init_std": 0.02},
              "batch_size": 100, "gan_betas": (0.8, 0.999),
              "ring": {"steps": 2000, "generators": 10, "mixture": {"radius": 1.0, "std": 0.01}},
              "grid": {"steps": 4000, "generators": 25, "mixture": {}}},
}
# What differs between methods, apart from the learning rates: the objective, the optimiser and
# its constants, each from its paper -- RMSProp with clip 0.01 and n_critic 5 for WGAN (Arjovsky
# et al., 2017); Adam(betas = (0.5, 0.9)), lambda = 10 and n_critic 5 for WGAN-GP (Gulrajani et
# al., 2017); the setting's Adam for the GAN family. The GAN is the Unrolled GAN with K = 0 and the
# PacGAN with m = 1: same networks, optimiser and rates.
METHODS = {
    "gan": {"objective": "gan", "optimizer": "adam"},
    "wgan": {"objective": "wgan", "optimizer": "rmsprop", "clip": 0.01, "n_critic": 5},
    "wgan_gp": {"objective": "wgan_gp", "optimizer": "adam", "betas": (0.5, 0.9), "penalty": 10.0, "n_critic": 5},
    "unrolled5": {"objective": "unrolled", "optimizer": "adam", "unroll_steps": 5},
    "unrolled10": {"objective": "unrolled", "optimizer": "adam", "unroll_steps": 10},
    "madgan": {"objective": "madgan", "optimizer": "adam"},
    "pac2": {"objective": "gan", "optimizer": "adam", "pack": 2},
    "pac4": {"objective": "gan", "optimizer": "adam", "pack": 4},
}
# The learning rates (D's, G's) before tuning (tune_2d.py picks each method's from a grid around
# them, on seeds that are not reported; sweep_2d.py uses the tuned ones). A pair, or one per dataset.
# Ours: Metz et al.'s Adam rates for the GAN family (D 1e-4, slower than G), WGAN's paper rate,
# 1e-3 for WGAN-GP (its paper's 1e-4 captured no ring mode in 2,000 steps), MAD-GAN's as the
# repository had them. Paper: PacGAN's 1e-4 for both networks; the WGANs' papers' rates.
_METZ = {"ring": (1e-4, 1e-3), "grid": (1e-4, 5e-4)}
RATES = {
    "ours": {"gan": _METZ, "wgan": (5e-5, 5e-5), "wgan_gp": (1e-3, 1e-3), "unrolled5": _METZ, "unrolled10": _METZ,
             "madgan": {"ring": (1e-3, 1e-3), "grid": (1e-3, 2e-4)}, "pac2": _METZ, "pac4": _METZ},
    "paper": {"gan": (1e-4, 1e-4), "wgan": (5e-5, 5e-5), "wgan_gp": (1e-4, 1e-4), "unrolled5": (1e-4, 1e-4),
              "unrolled10": (1e-4, 1e-4), "madgan": (1e-4, 1e-4), "pac2": (1e-4, 1e-4), "pac4": (1e-4, 1e-4)},
}


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
    setting: str = "ours"
    g_batch_norm: bool = False
    d_maxout: int = 1
    scaled: bool = True  # the networks work in units of the data's extent (models.py)
    init_std: float = None  # weights from N(0, init_std), biases 0 (None: PyTorch's initialisation)
    mixture: dict = field(default_factory=dict)  # parameters of the mixture (mixtures.py), e.g. radius, std


OVERRIDABLE = ("latent_dim", "g_hidden", "g_layers", "d_hidden", "d_layers", "batch_size", "steps", "lr", "lr_g",
               "generators", "unroll_steps", "pack")


def rates(method, dataset, setting="ours"):
    """(D's, G's) learning rate of a method on a dataset before tuning (the RATES table)."""
    entry = RATES[setting][method]
    return tuple(entry[dataset] if isinstance(entry, dict) else entry)


def method_config(method, dataset="ring", setting="ours", **overrides):
    """The full settings of a method on a dataset in a setting: the setting's networks, batch, steps
    and mixture, the method's objective and optimiser (METHODS), its rates (RATES), then the non-None
    ``overrides`` (an ``lr`` without ``lr_g`` sets both)."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}: use one of {', '.join(SETTINGS)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    base, per_method = SETTINGS[setting], dict(METHODS[method])
    lr, lr_g = rates(method, dataset, setting)
    config = {"method": method, "dataset": dataset, "setting": setting, "n_critic": 1, **base["networks"],
              "batch_size": base["batch_size"], "steps": base[dataset]["steps"],
              "mixture": dict(base[dataset]["mixture"]), "betas": base["gan_betas"], "lr": lr, "lr_g": lr_g,
              **per_method}
    if config["objective"] == "madgan":
        config["generators"] = base[dataset]["generators"]
    if config["optimizer"] != "adam":
        del config["betas"]
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
    if config["objective"] == "madgan" and config["g_batch_norm"] and config["batch_size"] % config["generators"]:
        raise ValueError(f"--batch_size {config['batch_size']} cannot be split evenly among MAD-GAN's "
                         f"{config['generators']} generators, which BatchNorm needs: use a multiple of "
                         f"{config['generators']}")
    return Run2DConfig(**config)


def network_specs(config, mixture_):
    """Specs (gan.checkpoints.spec) of the generator and discriminator a config asks for."""
    c = config
    # ours: the grid spans [-4, 4]^2, the ring [-2, 2]^2 and both networks work in units of that
    # extent; the papers' networks see the raw coordinates
    scale = float(mixture_.means.abs().max()) if c.scaled else 1.0
    g_kwargs = {"latent_dim": c.latent_dim, "hidden": c.g_hidden, "layers": c.g_layers, "scale": scale}
    if c.g_batch_norm:
        g_kwargs["batch_norm"] = True
    if c.objective == "madgan":
        generator = spec("2d.MultiGenerator", k=c.generators, **g_kwargs)
        d_outputs = c.generators + 1
    else:
        generator, d_outputs = spec("2d.Generator", **g_kwargs), 1
    d_kwargs = {"pack": c.pack} if c.pack != 1 else {}  # PacGAN (Lin et al., 2018)
    if c.d_maxout > 1:
        d_kwargs["maxout"] = c.d_maxout
    return generator, spec("2d.Discriminator", hidden=c.d_hidden, layers=c.d_layers, outputs=d_outputs, scale=scale,
                           **d_kwargs)


def build(config, data, device):
    """(G, D, objective, opt_G, opt_D) of a Run2DConfig; ``data`` is the MixtureBatches."""
    c = config
    g_spec, d_spec = network_specs(config, data.mixture)
    G, D = build_spec(g_spec), build_spec(d_spec)
    if c.init_std:
        init_normal_(G, c.init_std)
        init_normal_(D, c.init_std)
    G, D = G.to(device), D.to(device)
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
    mix = mixture(config.dataset, **config.mixture)
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
    record = {"setting": config.setting, "method": config.method, "dataset": config.dataset, "seed": seed,
              "modes": final["modes"], "high_quality": final["high_quality"], "kl": final["kl"],
              "seconds": summary["seconds"],
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


def run_name(setting, dataset, method, seed):
    """The folder name of a run under runs/mode_collapse (ours keeps the names it had before settings)."""
    return f"{'' if setting == 'ours' else setting + '_'}{dataset}_{method}_seed{seed}"


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setting", choices=list(SETTINGS), default="ours",
                   help="ours (small MLPs) or paper (PacGAN's and VEEGAN's networks, batch and optimiser)")
    p.add_argument("--method", choices=list(METHODS), default="gan")
    p.add_argument("--dataset", choices=list(DATASETS), default="ring")
    p.add_argument("--steps", type=positive_int, default=None, help="generator updates (default: the setting's)")
    p.add_argument("--snapshots", type=positive_int, default=10, help="times the samples are measured during training")
    p.add_argument("--batch_size", type=positive_int, default=None, help="default: the setting's")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="discriminator learning rate, and the generator's unless --lr_g (default: the method's, "
                        "RATES; sweep_2d.py uses the tuned ones)")
    p.add_argument("--lr_g", type=positive_float, default=None,
                   help="generator learning rate (default: the method's, RATES)")
    p.add_argument("--latent_dim", type=positive_int, default=None, help="default: the setting's")
    for net, name in (("g", "generator"), ("d", "discriminator")):
        p.add_argument(f"--{net}_hidden", type=positive_int, default=None,
                       help=f"units per hidden layer of the {name} (default: the setting's)")
        p.add_argument(f"--{net}_layers", type=positive_int, default=None,
                       help=f"hidden layers of the {name} (default: the setting's)")
    p.add_argument("--generators", type=positive_int, default=None, help="MAD-GAN's k (default: the setting's)")
    p.add_argument("--unroll_steps", type=non_negative_int, default=None,
                   help="Unrolled GAN's K (default: the method's, 5 or 10)")
    p.add_argument("--pack", type=positive_int, default=None,
                   help="PacGAN: the discriminator judges this many samples at once (the batch must be a "
                        "multiple; default: the method's, 2 or 4, else 1)")
    add_resume_args(p)
    add_common_args(p, out=None, out_default="runs/mode_collapse/[SETTING_]DATASET_METHOD_seedSEED")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    device = setup_run(args)
    out = args.out or os.path.join("runs", "mode_collapse",
                                   run_name(args.setting, args.dataset, args.method, args.seed))
    out = prepare_out(out, args.resume, args.overwrite, chosen="out" in explicit_options(parser, argv))
    if args.resume:
        state = load_checkpoint(os.path.join(out, "checkpoint.pt"), TRAINING_KIND)
        config, args.seed, args.snapshots = (config_from_dict(Run2DConfig, state["config"]), state["seed"],
                                             state["snapshots"])
    else:
        config = method_config(args.method, args.dataset, args.setting, **{k: getattr(args, k) for k in OVERRIDABLE})
    record = train_2d(config, args.seed, out, device, args.snapshots, quiet=args.quiet, resume=args.resume)
    print(f"{config.method} on {config.dataset} ({config.setting} setting), seed {args.seed}: "
          f"{record['modes']}/{len(record['mode_histogram'])} modes, {100 * record['high_quality']:.1f}% high quality, "
          "KL "
          f"{record['kl'] if record['kl'] is None else round(record['kl'], 3)}, {record['seconds']:.0f} s")
    print(f"wrote metrics.json, snapshots.pt, checkpoint.pt in {out}")
    return record


if __name__ == "__main__":
    run_main(main)
