"""WGAN-GP on MNIST with the Part 2 MLP networks, measured against the Part 2 GAN.

    python mode_collapse/wgan_gp_mnist.py --split test --data-dir ../shared/data --threads 1

The generator and the critic are part2_gan/model.py's Generator and Discriminator (the
latter returns an unbounded score: no sigmoid, no BatchNorm, as the gradient penalty needs,
Gulrajani et al. 2017, section 4). Training is part2_gan/train.py's run_training (the same
loop, data, snapshots and metrics) with the WGAN-GP objective: lambda = 10, n_critic = 5,
Adam(1e-4, betas = (0.5, 0.9)). The baseline, the Part 2 GAN (part2_gan/train.py's networks,
objective and Adam(2e-4, betas = (0.5, 0.999))), is trained by this script for the same epochs,
batch size, seed and split (into --gan_out), unless --gan_results names the metrics.json of a
GAN trained before. Writes the WGAN-GP run's files to --out, and to --results both models'
metrics side by side (class coverage, KL to uniform, Inception Score, FID on the classifier's
features) with what each was trained with.
"""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, UsageError, non_negative_float, positive_float, positive_int, run_main,
                        write_json)
from mode_collapse.objectives import WGANGP
from part2_gan.checkpoints import spec
from part2_gan.model import Discriminator, Generator
from part2_gan.train import add_gan_args, run_training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_RESULTS = os.path.join(REPO, "report", "results", "mode_collapse_mnist.json")
METRIC_KEYS = ("inception_score", "fid", "classes_covered", "kl_uniform", "class_histogram")


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_gan_args(p, epochs=200, out="runs/mode_collapse_mnist/wgan_gp", lr=1e-4, batch_size=64, beta1=0.5)
    p.set_defaults(beta2=0.9)
    p.add_argument("--penalty", type=non_negative_float, default=10.0, help="gradient penalty weight lambda")
    p.add_argument("--n_critic", type=positive_int, default=5, help="critic updates per generator update")
    p.add_argument("--results", default=DEFAULT_RESULTS, help="comparison file to write ('' for none)")
    p.add_argument("--gan_results", default="",
                   help="metrics.json of a Part 2 GAN trained before (default: train it here, same epochs)")
    p.add_argument("--gan_lr", type=positive_float, default=2e-4, help="the baseline GAN's Adam learning rate")
    p.add_argument("--gan_out", default=None, help="folder of the baseline GAN's run (default: OUT_gan)")
    return p


def train_gan_baseline(args):
    """Train the Part 2 GAN as part2_gan/train.py does, with this run's epochs, batch, seed and split."""
    gan_args = copy.copy(args)
    gan_args.lr, gan_args.beta1, gan_args.beta2 = args.gan_lr, 0.5, 0.999
    gan_args.out = args.gan_out or args.out.rstrip("/") + "_gan"
    gan_args.ema, gan_args.label_smoothing, gan_args.augment = None, 0.0, None
    for key in ("penalty", "n_critic", "results", "gan_results", "gan_lr", "gan_out"):
        delattr(gan_args, key)
    metrics = run_training(gan_args, spec(Generator, latent_dim=args.latent_dim), spec(Discriminator),
                           desc="GAN (MLP, Part 2)")
    gan = {k: metrics[k] for k in (*METRIC_KEYS, "epochs", "split") if k in metrics}
    gan.update(training_seconds=metrics["seconds"], training_hardware=metrics["hardware"], lr=gan_args.lr,
               batch_size=gan_args.batch_size, config=metrics["config"])
    return gan, os.path.join(gan_args.out, "metrics.json")


def read_gan_results(path):
    """The Part 2 GAN's metrics, or None when the file is not there yet."""
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            gan = json.load(f)
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read --gan_results {path}: {err}") from None
    missing = [k for k in METRIC_KEYS[:4] if k not in gan]
    if missing:
        raise UsageError(f"--gan_results {path} lacks {', '.join(missing)}")
    return gan


def comparison(wgan_metrics, gan, gan_path):
    """The results record: both models' metrics side by side, and what each was trained with."""
    cfg = wgan_metrics["config"]
    wgan = {k: wgan_metrics[k] for k in METRIC_KEYS}
    wgan.update(epochs=wgan_metrics["epochs"], generator_steps=wgan_metrics["generator_steps"],
                discriminator_steps=wgan_metrics["discriminator_steps"], seconds=wgan_metrics["seconds"],
                lr=cfg["lr"], betas=[cfg["beta1"], cfg["beta2"]], batch_size=cfg["batch_size"],
                penalty=cfg["penalty"], n_critic=cfg["n_critic"], ema=cfg.get("ema"), hardware=wgan_metrics["hardware"],
                n_samples=wgan_metrics["n_samples"], seed=cfg["seed"])
    if wgan_metrics.get("evaluations"):
        wgan["evaluations"] = wgan_metrics["evaluations"]
    record = {"split": wgan_metrics["split"], "train_images": wgan_metrics["train_images"], "wgan_gp": wgan,
              "gan": None, "real": {k: wgan_metrics["real"][k] for k in METRIC_KEYS[:4]},
              "classifier": wgan_metrics.get("classifier")}
    if gan is not None:
        record["gan"] = {k: gan.get(k) for k in (*METRIC_KEYS, "epochs", "training_seconds", "split", "lr",
                                                   "batch_size", "training_hardware", "ema_decay", "config")
                         if k in gan}
        record["gan"]["source"] = os.path.relpath(os.path.abspath(gan_path), REPO)
        if gan.get("split") != wgan_metrics["split"]:
            record["note"] = f"the GAN trained on the {gan.get('split')} split, WGAN-GP on {wgan_metrics['split']}"
    else:
        record["note"] = f"no Part 2 GAN results at {gan_path}: rerun without --gan_results to train it here"
    return record


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.label_smoothing:
        raise UsageError("--label_smoothing belongs to the GAN's cross-entropy; WGAN-GP's critic has no labels")
    gan = read_gan_results(args.gan_results)  # fail early, before training, on a bad file
    gan_path = args.gan_results
    if gan is None and not args.gan_results and not args.no_eval and args.results:
        gan, gan_path = train_gan_baseline(args)
    objective = WGANGP(args.penalty, args.n_critic)
    metrics = run_training(args, spec(Generator, latent_dim=args.latent_dim), spec(Discriminator),
                           objective=objective, desc="WGAN-GP (MLP)")
    if args.no_eval or not args.results:
        return metrics
    record = comparison(metrics, gan, gan_path)
    write_json(args.results, record)
    if gan is None:
        print(f"note: {record['note']}")
    else:
        print(f"Part 2 GAN ({gan['split']} split): IS {gan['inception_score']:.2f}, FID {gan['fid']:.2f}, "
              f"{gan['classes_covered']} classes, KL to uniform {gan['kl_uniform']:.3f}")
    print(f"wrote {args.results}")
    return record


if __name__ == "__main__":
    run_main(main)
