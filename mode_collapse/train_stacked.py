"""Train one GAN on Stacked MNIST (1,000 modes) and measure how many modes it captures.

    python mode_collapse/train_stacked.py --method dcgan --data-dir ../shared/data --threads 1            # into runs/
    python mode_collapse/train_stacked.py --method dcgan --data-dir ../shared/data --threads 1 --publish  # + report/
    python mode_collapse/train_stacked.py --method dcgan --data-dir ../shared/data --threads 1 --resume   # continue
    python mode_collapse/train_stacked.py --method dcgan --data-dir ../shared/data --threads 1 --budget long --publish

A training sample is three MNIST training digits stacked as the channels of one 28 x 28 image
(stacked_mnist.py); its mode is the triple of digits. The methods (METHODS) share the networks --
the 3-channel DCGAN of dcgan/model.py -- and the budget (BUDGETS[--budget]: generator steps, batch,
training stacks; "standard" for all, "long" for the three that can afford it): dcgan (the
non-saturating GAN), unrolled (the Unrolled GAN, K = 5 as in VEEGAN's runs), unrolled_nobn (the
same with a discriminator without BatchNorm), pacdcgan2 (PacGAN's discriminator judging 2 images at once), madgan (k = 8 generators and a 9-way
discriminator) and wgan_gp (a critic without BatchNorm, lambda = 10, n_critic = 5, Adam(1e-4,
betas = (0.5, 0.9))). All run in gan/trainer.py's loop.

Evaluation (VEEGAN's and PacGAN's protocol): 26,000 samples from fresh noise; the committed
evaluation classifier (gan/classifier.py) reads the digit of each channel; the measures are the
modes (of 1,000) holding at least one sample and KL(mode histogram || uniform). Measured at
--evaluations evenly spaced points of training (the last at the end): the modes over training.
Writes to --out: metrics.json (the record), samples.png (64 samples of a fixed noise batch, as RGB
images), checkpoint.pt (at every evaluation and every twentieth of the run). --publish merges the
record (keyed by method and seed) into report/results/stacked_mnist.json (stacked_mnist_long.json
for --budget long) and draws, in report/figures, stacked_mnist[_long]_samples_<method>.png (seed
0's samples), stacked_mnist[_long]_modes.png (the mode histogram of every method) and
stacked_mnist[_long]_curves.png (modes over training).
"""
import dataclasses
import os
import time
from dataclasses import dataclass

import torch

from common.checkpoint import load_checkpoint, save_checkpoint
from common.cli import (ArgumentParser, add_common_args, add_resume_args, hardware_description, non_negative_int,
                        positive_int, run_main, seed_everything, setup_run, write_json)
from common.config import config_from_dict, explicit_options
from common.paths import repo_relative
from common.runs import prepare_out
from dcgan.model import Discriminator, Generator, weights_init
from gan.checkpoints import spec
from gan.classifier import COMMITTED_WEIGHTS, load_classifier
from gan.data import load_mnist_tensor
from gan.objectives import MADGAN, WGANGP, NonSaturatingGAN, UnrolledGAN
from gan.trainer import TRAINING_KIND, GANTrainer
from mode_collapse.models import ImageGeneratorBank
from mode_collapse.stacked_mnist import N_MODES, N_SAMPLES, StackedBatches, mode_coverage, read_stacks
from mode_collapse.stacked_results import (BUDGET, BUDGETS, LABELS, budget_of, check_budget, measure_real, publish,
                                           read_real, read_results, results_path_of)

# What differs between methods. The GANs use DCGAN's Adam(2e-4, beta1 = 0.5) (Radford et al., 2015;
# PacGAN's Stacked MNIST runs); WGAN-GP its paper's.
METHODS = {
    "dcgan": {"objective": "gan"},
    "unrolled": {"objective": "unrolled", "unroll_steps": 5},
    # The same without BatchNorm in D: with it, the run at the standard budget failed (the unrolled copy's
    # updates normalise real and fake images as one batch, the generator's loss fakes alone; README).
    "unrolled_nobn": {"objective": "unrolled", "unroll_steps": 5, "d_batch_norm": False},
    "pacdcgan2": {"objective": "gan", "pack": 2},
    "madgan": {"objective": "madgan", "generators": 8},
    "wgan_gp": {"objective": "wgan_gp", "n_critic": 5, "penalty": 10.0, "lr": 1e-4, "lr_g": 1e-4, "betas": [0.5, 0.9],
                "d_batch_norm": False},
}
N_GRID = 64  # samples in the figure of a run


@dataclass
class StackedConfig:
    """Everything that defines a Stacked MNIST run (stacked_config builds it from the tables above)."""
    method: str
    objective: str
    steps: int
    batch_size: int
    n_stacks: int
    latent_dim: int = 100
    ngf: int = 64
    ndf: int = 32
    lr: float = 2e-4
    lr_g: float = 2e-4
    betas: list = dataclasses.field(default_factory=lambda: [0.5, 0.999])
    n_critic: int = 1
    penalty: float = None
    unroll_steps: int = None
    generators: int = None
    pack: int = 1
    d_batch_norm: bool = True
    evaluations: int = 4
    eval_samples: int = N_SAMPLES
    data_seed: int = 0  # the training stacks: the same for every method and seed


OVERRIDABLE = ("steps", "batch_size", "n_stacks", "ngf", "ndf", "generators", "unroll_steps", "evaluations",
               "eval_samples", "latent_dim")


def stacked_config(method, budget="standard", **overrides):
    """BUDGETS[budget], then the method's entry of METHODS, then the non-None ``overrides``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}: use one of {', '.join(BUDGETS)}")
    config = StackedConfig(method=method, **BUDGETS[budget], **METHODS[method])
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if config.batch_size % config.pack:
        raise ValueError(f"--batch_size {config.batch_size} cannot be packed in pairs: use a multiple of {config.pack}")
    if config.objective == "madgan" and config.batch_size < 2 * config.generators:
        raise ValueError(f"--batch_size {config.batch_size} gives MAD-GAN's {config.generators} generators fewer than "
                         "2 samples each (BatchNorm needs 2)")
    if config.steps % config.evaluations:
        raise ValueError(f"--steps {config.steps} is not a multiple of --evaluations {config.evaluations}")
    return config


def networks(config):
    """(G, D, generator spec, discriminator spec) of a config, with DCGAN's initialisation."""
    c = config
    if c.objective == "madgan":
        G = ImageGeneratorBank(c.generators, c.latent_dim, c.ngf, channels=3)
        g_spec = spec("stacked.ImageGeneratorBank", k=c.generators, latent_dim=c.latent_dim, ngf=c.ngf, channels=3)
    else:
        G = Generator(c.latent_dim, c.ngf, channels=3)
        g_spec = spec("dcgan.Generator", latent_dim=c.latent_dim, ngf=c.ngf, channels=3)
    d_kwargs = {"ndf": c.ndf, "channels": 3}
    if c.pack != 1:
        d_kwargs["pack"] = c.pack
    if c.objective == "madgan":
        d_kwargs["outputs"] = c.generators + 1
    if not c.d_batch_norm:
        d_kwargs["batch_norm"] = False
    D = Discriminator(**d_kwargs)
    G.apply(weights_init)
    D.apply(weights_init)
    return G, D, g_spec, spec("dcgan.Discriminator", **d_kwargs)


def build_trainer(config, images, labels, device, seed=0, out=None, quiet=True):
    """The GANTrainer of a config on MNIST digits ``images`` (N, 1, 28, 28) in [-1, 1] with ``labels``;
    the networks are drawn from ``seed``. No callbacks (train_stacked adds them)."""
    c, device = config, torch.device(device)
    seed_everything(seed)
    batches = StackedBatches(images, labels, c.n_stacks, c.batch_size, seed=seed, data_seed=c.data_seed, device=device)
    G, D, g_spec, d_spec = networks(c)
    G, D = G.to(device), D.to(device)
    opt_G = torch.optim.Adam(G.parameters(), lr=c.lr_g, betas=tuple(c.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=c.lr, betas=tuple(c.betas))
    objective = {
        "gan": lambda: NonSaturatingGAN(),
        "unrolled": lambda: UnrolledGAN(c.unroll_steps, batches.sample, opt_D),
        "madgan": lambda: MADGAN(c.generators),
        "wgan_gp": lambda: WGANGP(c.penalty, c.n_critic),
    }[c.objective]()
    meta = {"networks": {"generator": g_spec, "discriminator": d_spec}, "split": "train", "seed": seed,
            "config": dataclasses.asdict(c), "config_type": "StackedConfig"}
    return GANTrainer(G, D, objective, opt_G, opt_D, batches, c.steps, c.latent_dim, device=device, n_fixed=N_GRID,
                      meta=meta, quiet=quiet, desc=f"{c.method} on Stacked MNIST",
                      checkpoint_path=os.path.join(out, "checkpoint.pt") if out else None)


def evaluation_steps(config):
    """The generator steps at which a run is evaluated: evenly spaced, the last at the end."""
    return [config.steps * i // config.evaluations for i in range(1, config.evaluations + 1)]


@torch.no_grad()
def generate(G, n, seed, device, batch_size=1000):
    """n samples (n, 3, 28, 28) of G in eval mode from noise of a private generator (the global one untouched)."""
    gen = torch.Generator().manual_seed(20_000 + seed)
    was_training = G.training
    G.eval()
    out = [G(torch.randn(min(batch_size, n - i), G.latent_dim, generator=gen).to(device)).cpu()
           for i in range(0, n, batch_size)]
    G.train(was_training)
    return torch.cat(out)


def evaluate(G, classifier, n, seed, device):
    """The mode coverage (stacked_mnist.mode_coverage, with the confident reads) of n fresh samples of G."""
    return mode_coverage(*read_stacks(generate(G, n, seed, device), classifier))


def time_evaluation(G, device, n=2000):
    """Seconds of one evaluation of N_SAMPLES samples, from the time of n (the committed classifier)."""
    classifier, _ = load_classifier(device=device)
    started = time.perf_counter()
    evaluate(G, classifier, n, 0, device)
    return (time.perf_counter() - started) * N_SAMPLES / n


class ModesOverTraining:
    """A trainer callback: evaluates the generator and appends {step, modes, kl, histogram,
    confident, modes_confident, training_seconds, evaluation_seconds} to trainer.evaluations (which
    the checkpoint carries). The noise is the same at every evaluation (seeded by the run's seed)."""

    def __init__(self, classifier, config, seed, device):
        self.classifier, self.config, self.seed, self.device = classifier, config, seed, device

    def __call__(self, trainer):
        started = time.perf_counter()
        cov = evaluate(trainer.generator, self.classifier, self.config.eval_samples, self.seed, self.device)
        trainer.evaluations.append({"step": trainer.step, "modes": cov["modes"], "kl": cov["kl"],
                                    "histogram": cov["histogram"], "n_samples": cov["n_samples"],
                                    "confident": cov["confident"], "modes_confident": cov["modes_confident"],
                                    "training_seconds": round(trainer.seconds, 2),
                                    "evaluation_seconds": round(time.perf_counter() - started, 2)})
        if not trainer.quiet:
            print(f"step {trainer.step}: {cov['modes']} modes, KL {cov['kl']:.3f}", flush=True)


def train_stacked(config, seed, out, images, labels, classifier, device="cpu", quiet=True, resume=False,
                  classifier_path=None):
    """Train a StackedConfig from ``seed`` into ``out``; returns the record (also OUT/metrics.json)."""
    from gan.samples import save_grid
    device = torch.device(device)
    trainer = build_trainer(config, images, labels, device, seed, out, quiet)
    evaluations = evaluation_steps(config)
    trainer.add_callback(ModesOverTraining(classifier, config, seed, device), at=evaluations)

    def checkpoint(t):
        save_checkpoint(t.state_dict(), t.checkpoint_path)
    trainer.add_callback(checkpoint, every=max(1, config.steps // 20), at=evaluations, at_end=True)
    if resume:
        state = load_checkpoint(trainer.checkpoint_path, TRAINING_KIND, map_location=device)
        if state.get("config") != trainer.meta["config"] or state.get("seed") != seed:
            raise ValueError(f"--resume: {trainer.checkpoint_path} is a run of other settings")
        trainer.load_state_dict(state, trainer.checkpoint_path)
    summary = trainer.fit()
    final = trainer.evaluations[-1]
    if "confident" not in final:  # a run evaluated before the confident reads were measured: its final
        final.update(evaluate(trainer.generator, classifier, config.eval_samples, seed, device))  # G, measured again
    with torch.no_grad():
        G = trainer.generator.eval()
        grid = G(trainer.fixed_noise).cpu()
    save_checkpoint({"kind": "mode_collapse/stacked_samples", "samples": grid}, os.path.join(out, "samples.pt"))
    save_grid(grid, os.path.join(out, "samples.png"), nrow=8,
              title=f"{LABELS.get(config.method, config.method)}: {final['modes']} modes, KL {final['kl']:.2f}")
    data = trainer.batches.modes
    record = {"method": config.method, "seed": seed, "modes": final["modes"], "kl": final["kl"],
              "confident": final["confident"], "modes_confident": final["modes_confident"],
              "n_samples": final["n_samples"], "n_modes": N_MODES, "histogram": final["histogram"],
              "curve": [{k: e[k] for k in ("step", "modes", "kl", "training_seconds")} for e in trainer.evaluations],
              "training_seconds": summary["seconds"],
              "evaluation_seconds": round(sum(e["evaluation_seconds"] for e in trainer.evaluations), 2),
              "generator_steps": summary["generator_steps"], "discriminator_steps": summary["discriminator_steps"],
              "training_set": {"stacks": len(data), "images": "MNIST training split", "n_images": len(images),
                               **{k: v for k, v in mode_coverage(data.cpu()).items() if k in ("modes", "kl")}},
              "classifier": repo_relative(classifier_path or COMMITTED_WEIGHTS),
              "config": trainer.meta["config"], "hardware": hardware_description(device)}
    write_json(os.path.join(out, "metrics.json"), record)
    return record


# ----------------------------------------------------------------------------- command line
def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=list(METHODS), default="dcgan")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--budget", choices=list(BUDGETS), default="standard",
                   help="the budget's steps, batch and stacks, its results file and figures (default: standard; "
                        "long: 10,000 steps, for dcgan, pacdcgan2 and madgan)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=f"generator steps (default: the budget's, {BUDGET['steps']} for standard)")
    p.add_argument("--batch_size", type=positive_int, default=None, help=f"default {BUDGET['batch_size']}")
    p.add_argument("--n_stacks", type=positive_int, default=None,
                   help=f"training stacks drawn from the MNIST training split (default {BUDGET['n_stacks']})")
    p.add_argument("--evaluations", type=positive_int, default=None,
                   help="evaluations during training, evenly spaced, the last at the end (default 4)")
    p.add_argument("--eval_samples", type=positive_int, default=None,
                   help=f"samples per evaluation (default {N_SAMPLES:,}, the published protocol)")
    p.add_argument("--latent_dim", type=positive_int, default=None, help="size of z (default 100)")
    p.add_argument("--ngf", type=positive_int, default=None, help="generator width (default 64)")
    p.add_argument("--ndf", type=positive_int, default=None, help="discriminator width (default 32)")
    p.add_argument("--generators", type=positive_int, default=None, help="MAD-GAN's k (default 8)")
    p.add_argument("--unroll_steps", type=non_negative_int, default=None, help="Unrolled GAN's K (default 5)")
    p.add_argument("--classifier", default=None, help="evaluation classifier (default: the committed one)")
    add_resume_args(p)
    p.add_argument("--publish", action="store_true",
                   help="merge the record into report/results/stacked_mnist.json and draw its figures in report/figures")
    add_common_args(p, out=None, out_default="runs/stacked_mnist/METHOD[_BUDGET]_seedSEED")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    device = setup_run(args)
    classifier, _ = load_classifier(args.classifier, device)  # a missing classifier fails before training
    budget_part = "" if args.budget == "standard" else f"_{args.budget}"
    out = args.out or os.path.join("runs", "stacked_mnist", f"{args.method}{budget_part}_seed{args.seed}")
    committed = results_path_of(args.budget)
    if args.resume:
        out = prepare_out(out, resume=True)
        state = load_checkpoint(os.path.join(out, "checkpoint.pt"), TRAINING_KIND)
        if state.get("config_type") != "StackedConfig":
            raise ValueError(f"--resume: {out}/checkpoint.pt is not a Stacked MNIST run")
        config, args.seed = config_from_dict(StackedConfig, state["config"], where=out), state["seed"]
    else:
        config = stacked_config(args.method, args.budget, **{k: getattr(args, k) for k in OVERRIDABLE})
    if args.publish:  # a broken results file, or one of another budget, fails before training, not after
        check_budget(read_results(committed), budget_of({"config": dataclasses.asdict(config)}),
                     replacing=(config.method, args.seed))
    images, labels = load_mnist_tensor("train", args.data_dir)  # missing data fails before --out is made
    if not args.resume:
        out = prepare_out(out, False, args.overwrite, chosen="out" in explicit_options(parser, argv))
    record = train_stacked(config, args.seed, out, images, labels, classifier, device, quiet=args.quiet,
                           resume=args.resume, classifier_path=args.classifier)
    print(f"{config.method}, seed {args.seed}: {record['modes']} of {N_MODES} modes, KL {record['kl']:.3f} "
          f"({record['n_samples']:,} samples); {record['training_seconds']:.0f} s of training, "
          f"{record['evaluation_seconds']:.0f} s of evaluation")
    paths = [os.path.join(out, name) for name in ("metrics.json", "samples.png", "checkpoint.pt")]
    if args.publish:
        real = None if read_real(committed) else measure_real(images, labels, classifier, device, config.eval_samples)
        paths += publish(record, out, real=real, budget=args.budget)
    print(f"wrote {', '.join(paths)}")
    return record


if __name__ == "__main__":
    run_main(main)
