"""A GAN trained on MNIST: its configuration, and ``train(config)``.

part2_gan/train.py (the fully connected GAN), dcgan/train.py and mode_collapse/wgan_gp_mnist.py
are thin clients: each defines a subclass of :class:`GANConfig` whose defaults are its own and
whose ``networks()`` / ``objective()`` name its networks and loss, and calls :func:`train`.
The config is saved in every checkpoint (with its class name) and is what a resumed run
continues with.

Writes to config.out: samples_start.png, samples_halfway.png, samples_end.png (5 x 5 grids from
one fixed noise batch; more with --sample_every), history.json and losses.png (per generator
step: D and G losses, D(x), D(G(z))), checkpoint.pt (every epoch, atomically), eval_history.json
(with --eval_every) and metrics.json (training time and the classifier-based metrics).
"""
import dataclasses
import os
from dataclasses import dataclass

import torch

from common.checkpoint import load_checkpoint, save_checkpoint
from common.cli import (ArgumentParser, UsageError, fraction, hardware_description, non_negative_fraction,
                        positive_float, positive_int, setup_run, write_json)
from common.config import (add_config_args, config_from_args, config_from_dict, device_option, explicit_options,
                           option, seed_option, threads_option)
from common.runs import prepare_out, resumed_config
from gan.augment import POLICIES, DiffAugment
from gan.checkpoints import build, count_parameters, spec
from gan.classifier import load_classifier
from gan.data import SPLITS, ImageBatches, load_mnist_tensor
from gan.memorisation import memorisation_against
from gan.metrics import METRICS, evaluate_against, generate, real_reference
from gan.objectives import NonSaturatingGAN
from gan.samples import ImageSnapshots, plot_history
from gan.trainer import TRAINING_KIND, GANTrainer

# What a resumed run may change: how long and how it is watched, not what it learns.
MAY_CHANGE = ("epochs", "sample_every", "eval_every", "eval_samples", "no_eval", "classifier", "data_dir", "device",
              "threads", "out", "resume", "overwrite", "quiet", "publish")


@dataclass
class GANConfig:
    """The fully connected GAN of Part 2 with the assignment's settings (Adam 2e-4, beta1 0.5, batch 64)."""
    epochs: int = option(200, "passes over the training images (converted to generator steps)", type=positive_int)
    batch_size: int = option(64, "images per batch (at least 2: BatchNorm)", type=positive_int)
    latent_dim: int = option(100, "size of the noise z ~ N(0, I)", type=positive_int)
    lr: float = option(2e-4, "Adam learning rate of both networks", type=positive_float)
    beta1: float = option(0.5, "Adam beta1", type=fraction)
    beta2: float = option(0.999, "Adam beta2", type=fraction)
    split: str = option("train", "MNIST split to train on", choices=SPLITS)
    data_dir: str = option(None, "MNIST root (default: $MNIST_DIR, else ./data)", flag="--data-dir")
    ema: float = option(None, "keep a moving average of G's weights with this decay (e.g. 0.999) and use it as "
                              "the generator (default: off, the plain G)", type=fraction, metavar="DECAY")
    label_smoothing: float = option(0.0, "one-sided label smoothing: D's target for real images is 1 - this",
                                    type=non_negative_fraction)
    augment: str = option(None, "differentiable augmentation of everything D sees: "
                          f"{' | '.join(sorted(POLICIES))} (default: none)", choices=sorted(POLICIES), metavar="POLICY")
    lr_decay: bool = option(False, "decay both learning rates linearly to 0 over the run")
    sample_every: int = option(None, "also save a sample grid every this many epochs", type=positive_int)
    eval_every: int = option(None, "evaluate every this many epochs (eval_history.json)", type=positive_int)
    eval_samples: int = option(10_000, "generated images the metrics use (at least 2)", type=positive_int)
    classifier: str = option(None, "evaluation classifier (default: the committed one)")
    no_eval: bool = option(False, "skip the metrics at the end")
    seed: int = seed_option()
    device: str = device_option()
    threads: int = threads_option()
    out: str = option("runs/gan_mlp", "folder for the samples, history, checkpoint and metrics")
    resume: bool = option(False, "continue the run in --out from its checkpoint.pt (with its own settings)")
    overwrite: bool = option(False, "replace the run in --out")
    quiet: bool = option(False, "no progress bar")

    desc = "MLP GAN"

    def networks(self):
        """(generator spec, discriminator spec) of gan.checkpoints.NETWORKS."""
        return spec("mlp.Generator", latent_dim=self.latent_dim), spec("mlp.Discriminator")

    def init_weights(self, G, D):
        """The networks' own initialisation (PyTorch's defaults here)."""

    def objective(self, batches, opt_D):
        return NonSaturatingGAN(real_label=1.0 - self.label_smoothing,
                                augment=DiffAugment(self.augment) if self.augment else None)


def command_line_config(cls, argv=None, description=None):
    """Parse ``argv`` into a ``cls`` config; with --resume, the checkpoint's config with the
    options given again applied where that is safe (common.runs.resumed_config)."""
    parser = add_config_args(ArgumentParser(description=description), cls)
    args = parser.parse_args(argv)
    config, explicit = config_from_args(cls, args), explicit_options(parser, argv)
    if config.resume:
        path = os.path.join(config.out, "checkpoint.pt")
        if os.path.isfile(path):
            state = load_checkpoint(path, TRAINING_KIND)
            if state.get("config_type") != cls.__name__:
                raise UsageError(f"--resume: {path} is a run of {state.get('config_type')}, not of {cls.__name__}")
            saved = config_from_dict(cls, state["config"], where=path)
            config = resumed_config(saved, config, explicit, MAY_CHANGE, where=path)
    out = prepare_out(config.out, config.resume, config.overwrite, chosen="out" in explicit)
    return dataclasses.replace(config, out=out)


def adam(module, config, device):
    """Adam with the run's settings; the fused kernel where torch has one (CPU, CUDA)."""
    return torch.optim.Adam(module.parameters(), lr=config.lr, betas=(config.beta1, config.beta2),
                            fused=device.type in ("cpu", "cuda"))


def build_trainer(config, images, device):
    """The trainer of ``config`` on ``images`` (float (N, 1, 28, 28) in [-1, 1]), with the checkpoint callback."""
    batches = ImageBatches(images, config.batch_size, seed=config.seed, device=device)
    g_spec, d_spec = config.networks()
    G, D = build(g_spec).to(device), build(d_spec).to(device)
    config.init_weights(G, D)
    opt_G, opt_D = adam(G, config, device), adam(D, config, device)
    objective = config.objective(batches, opt_D)
    per_epoch = batches.per_epoch // objective.n_critic
    if per_epoch < 1:
        raise ValueError(f"{len(images)} images make fewer than {objective.n_critic} batches of {config.batch_size}: "
                         "lower --batch_size")
    meta = {"networks": {"generator": g_spec, "discriminator": d_spec}, "config": dataclasses.asdict(config),
            "config_type": type(config).__name__, "split": config.split, "hardware": hardware_description(device),
            "steps_per_epoch": per_epoch}
    trainer = GANTrainer(G, D, objective, opt_G, opt_D, batches, config.epochs * per_epoch, config.latent_dim,
                         device=device, ema_decay=config.ema, lr_decay=config.lr_decay, meta=meta, quiet=config.quiet, desc=config.desc,
                         checkpoint_path=os.path.join(config.out, "checkpoint.pt"))
    trainer.steps_per_epoch = per_epoch
    return trainer


class Evaluator:
    """The metrics of a run's generators against the MNIST test split, which neither the generator
    nor the evaluation classifier has seen: a trainer callback (G, and the exported generator --
    the calibrated moving average -- when one is kept, every --eval_every epochs and at the end,
    in eval_history.json), and the final metrics with memorisation against the training images."""

    def __init__(self, config, train_images, device):
        self.config, self.train_images, self.device = config, train_images, device
        self.test, _ = load_mnist_tensor("test", config.data_dir)
        self.classifier, self.record = load_classifier(config.classifier, device)
        self.reference = real_reference(self.test, self.classifier)

    def metrics(self, G):
        fake = generate(G, self.config.eval_samples, G.latent_dim, device=self.device)
        return evaluate_against(fake, self.reference, self.classifier), fake

    def __call__(self, trainer):
        nets = {"G": trainer.G} | ({"G_ema": trainer.generator} if trainer.G_ema is not None else {})
        row = {name: {k: v for k, v in self.metrics(net)[0].items() if k in METRICS} for name, net in nets.items()}
        trainer.evaluations.append({"step": trainer.step, "epoch": trainer.step / trainer.steps_per_epoch, **row})
        write_json(os.path.join(self.config.out, "eval_history.json"), trainer.evaluations)

    def final(self, G):
        """The metrics of the exported generator, with memorisation when it trained on the training split."""
        metrics, fake = self.metrics(G)
        metrics.update(evaluated_against="test", classifier={k: self.record.get(k) for k in (
            "split", "held_out_accuracy", "how")})
        if self.config.split == "train":
            metrics["memorisation"], metrics["real"]["memorisation"] = memorisation_against(
                fake, self.test, self.train_images)
        return metrics


def train(config):
    """Train the GAN ``config`` describes on MNIST; returns the metrics (also in OUT/metrics.json)."""
    prepare_out(config.out, config.resume, config.overwrite)
    device = setup_run(config)
    images, _ = load_mnist_tensor(config.split, config.data_dir)
    trainer = build_trainer(config, images, device)
    per_epoch = trainer.steps_per_epoch
    trainer.add_callback(ImageSnapshots(config.out, config.desc), every=config.sample_every and config.sample_every * per_epoch,
                         at=(0, trainer.steps // 2), at_end=True)
    evaluator = Evaluator(config, images, device) if config.eval_every or not config.no_eval else None
    if config.eval_every:
        trainer.add_callback(evaluator, every=config.eval_every * per_epoch, at_end=True)
    trainer.add_callback(lambda t: save_checkpoint(t.state_dict(), t.checkpoint_path), every=per_epoch, at_end=True)
    if config.resume:
        trainer.load_state_dict(load_checkpoint(trainer.checkpoint_path, TRAINING_KIND, map_location=device),
                                trainer.checkpoint_path)
    try:
        summary = trainer.fit()
    finally:
        write_json(os.path.join(config.out, "history.json"), trainer.history)
        plot_history(trainer.history, os.path.join(config.out, "losses.png"), title=config.desc)
    metrics = {**summary, "epochs": trainer.step / per_epoch, "seconds_per_epoch": round(summary["seconds"] / max(
               trainer.step / per_epoch, 1e-9), 2), "split": config.split, "train_images": len(images),
               "hardware": trainer.meta["hardware"], "generator_parameters": count_parameters(trainer.G),
               "discriminator_parameters": count_parameters(trainer.D), "config": dataclasses.asdict(config)}
    if evaluator and not config.no_eval:
        metrics.update(evaluator.final(trainer.generator))
    if trainer.evaluations:
        metrics["evaluations"] = trainer.evaluations
    write_json(os.path.join(config.out, "metrics.json"), metrics)
    return metrics


def main_of(cls, argv=None, description=None):
    """What a training script's main does: parse ``argv`` into a ``cls`` config, train, report."""
    config = command_line_config(cls, argv, description)
    metrics = train(config)
    print(describe(metrics, config.desc, config.out))
    return metrics


def describe(metrics, desc, out):
    """The lines a training script prints at the end."""
    line = (f"{desc}: {metrics['epochs']:g} epochs ({metrics['generator_steps']} generator steps) in "
            f"{metrics['seconds']:.0f} s ({metrics['seconds_per_epoch']:.1f} s/epoch)")
    if "inception_score" in metrics:
        line += (f"; IS {metrics['inception_score']:.2f}, FID {metrics['fid']:.2f}, {metrics['classes_covered']} "
                 f"classes, KL to uniform {metrics['kl_uniform']:.3f}")
    return line + f"\nwrote samples_start/halfway/end.png, losses.png, history.json, checkpoint.pt, metrics.json in {out}"

