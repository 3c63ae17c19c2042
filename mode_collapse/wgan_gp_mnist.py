"""WGAN-GP on MNIST with the Part 2 MLP networks, measured against the Part 2 GAN.

    python mode_collapse/wgan_gp_mnist.py --data-dir ../shared/data --threads 1             # into runs/
    python mode_collapse/wgan_gp_mnist.py --data-dir ../shared/data --threads 1 --publish   # + report/results

The generator and the critic are part2_gan/model.py's Generator and Discriminator (the
latter returns an unbounded score: no sigmoid, no BatchNorm, as the gradient penalty needs,
Gulrajani et al. 2017, section 4). Training is gan/mnist.py's train (the same loop, data,
snapshots and metrics) with the WGAN-GP objective: lambda = 10, n_critic = 5, Adam(1e-4,
betas = (0.5, 0.9)). The baseline, the Part 2 GAN (GANConfig: its networks, objective and
Adam(2e-4, betas = (0.5, 0.999))), is trained by this script for the same epochs, batch size,
seed and split (into --gan_out), unless --gan_results names the metrics.json of a GAN trained
before. Writes the WGAN-GP run's files to --out and both models' metrics side by side (class
coverage, KL to uniform, Inception Score, FID on the classifier's features), with what each was
trained with, to OUT/comparison.json -- and with --publish to
report/results/mode_collapse_mnist.json.
"""
import dataclasses
import json
import os
from dataclasses import dataclass

from common.cli import UsageError, non_negative_float, positive_float, positive_int, run_main, write_json
from common.config import new_default, option
from common.paths import RESULTS, repo_relative
from gan.mnist import GANConfig, command_line_config, train
from gan.objectives import WGANGP

COMMITTED_RESULTS = os.path.join(RESULTS, "mode_collapse_mnist.json")
REQUIRED = ("inception_score", "fid", "classes_covered", "kl_uniform")
METRIC_KEYS = (*REQUIRED, "kid", "precision", "recall", "memorisation", "class_histogram")


@dataclass
class WGANGPConfig(GANConfig):
    """The Part 2 networks with the WGAN-GP objective and the paper's Adam(1e-4, betas = (0.5, 0.9))."""
    lr: float = new_default(GANConfig, "lr", 1e-4)
    beta2: float = new_default(GANConfig, "beta2", 0.9)
    out: str = new_default(GANConfig, "out", "runs/mode_collapse_mnist/wgan_gp")
    penalty: float = option(10.0, "gradient penalty weight lambda", type=non_negative_float)
    n_critic: int = option(5, "critic updates per generator update", type=positive_int)
    gan_results: str = option("", "metrics.json of a Part 2 GAN trained before (default: train it here, same epochs)")
    gan_lr: float = option(2e-4, "the baseline GAN's Adam learning rate", type=positive_float)
    gan_out: str = option(None, "folder of the baseline GAN's run (default: OUT_gan)")
    publish: bool = option(False, "also write the comparison to report/results/mode_collapse_mnist.json")

    desc = "WGAN-GP (MLP)"

    def objective(self, batches, opt_D):
        return WGANGP(self.penalty, self.n_critic)


def train_gan_baseline(config):
    """Train the Part 2 GAN as part2_gan/train.py does, with this run's epochs, batch, seed and split."""
    base = {f.name: getattr(config, f.name) for f in dataclasses.fields(GANConfig)}
    out = config.gan_out or config.out.rstrip("/") + "_gan"
    gan_config = GANConfig(**base | {"lr": config.gan_lr, "beta1": 0.5, "beta2": 0.999, "ema": None,
                                     "label_smoothing": 0.0, "augment": None, "out": out, "overwrite": False,
                                     "resume": os.path.isfile(os.path.join(out, "checkpoint.pt"))})
    gan_config.desc = "GAN (MLP, Part 2)"
    metrics = train(gan_config)
    gan = {k: metrics[k] for k in (*METRIC_KEYS, "epochs", "split") if k in metrics}
    gan.update(training_seconds=metrics["seconds"], training_hardware=metrics["hardware"], lr=gan_config.lr,
               batch_size=gan_config.batch_size, config=metrics["config"])
    return gan, os.path.join(gan_config.out, "metrics.json")


def read_gan_results(path):
    """The Part 2 GAN's metrics in ``path``, or None when no path is given."""
    if not path:
        return None
    try:
        with open(path) as f:
            gan = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read --gan_results {path}: {err}") from None
    missing = [k for k in REQUIRED if not isinstance(gan, dict) or k not in gan]
    if missing:
        raise ValueError(f"--gan_results {path} lacks {', '.join(missing)}")
    return gan


def comparison(wgan_metrics, gan, gan_path):
    """The results record: both models' metrics side by side, and what each was trained with."""
    cfg = wgan_metrics["config"]
    wgan = {k: wgan_metrics[k] for k in METRIC_KEYS if k in wgan_metrics}
    wgan.update(epochs=wgan_metrics["epochs"], generator_steps=wgan_metrics["generator_steps"],
                discriminator_steps=wgan_metrics["discriminator_steps"], seconds=wgan_metrics["seconds"],
                lr=cfg["lr"], betas=[cfg["beta1"], cfg["beta2"]], batch_size=cfg["batch_size"],
                penalty=cfg["penalty"], n_critic=cfg["n_critic"], ema=cfg.get("ema"), hardware=wgan_metrics["hardware"],
                n_samples=wgan_metrics["n_samples"], seed=cfg["seed"])
    if wgan_metrics.get("evaluations"):
        wgan["evaluations"] = wgan_metrics["evaluations"]
    record = {"split": wgan_metrics["split"], "evaluated_against": wgan_metrics.get("evaluated_against"),
              "train_images": wgan_metrics["train_images"], "wgan_gp": wgan,
              "gan": None, "real": {k: v for k, v in wgan_metrics["real"].items() if k in METRIC_KEYS},
              "classifier": wgan_metrics.get("classifier")}
    if gan is not None:
        record["gan"] = {k: gan.get(k) for k in (*METRIC_KEYS, "epochs", "training_seconds", "split", "lr",
                                                   "batch_size", "training_hardware", "ema_decay", "config")
                         if k in gan}
        record["gan"]["source"] = repo_relative(gan_path)
        if gan.get("split") != wgan_metrics["split"]:
            record["note"] = f"the GAN trained on the {gan.get('split')} split, WGAN-GP on {wgan_metrics['split']}"
    else:
        record["note"] = f"no Part 2 GAN results at {gan_path}: rerun without --gan_results to train it here"
    return record


def main(argv=None):
    config = command_line_config(WGANGPConfig, argv, description=__doc__.splitlines()[0])
    if config.label_smoothing:
        raise UsageError("--label_smoothing belongs to the GAN's cross-entropy; WGAN-GP's critic has no labels")
    gan = read_gan_results(config.gan_results)  # fail early, before training, on a bad file
    gan_path = config.gan_results
    if gan is None and not config.no_eval:
        gan, gan_path = train_gan_baseline(config)
    metrics = train(config)
    if config.no_eval:
        return metrics
    record = comparison(metrics, gan, gan_path)
    paths = [write_json(os.path.join(config.out, "comparison.json"), record)]
    if config.publish:
        paths.append(write_json(COMMITTED_RESULTS, record))
    print(f"Part 2 GAN ({gan['split']} split): IS {gan['inception_score']:.2f}, FID {gan['fid']:.2f}, "
          f"{gan['classes_covered']} classes, KL to uniform {gan['kl_uniform']:.3f}")
    print(f"wrote {' and '.join(paths)}")
    return record


if __name__ == "__main__":
    run_main(main)
