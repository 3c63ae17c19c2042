"""Evaluate a trained generator with the MNIST classifier: ``evaluate(EvalConfig(...))``.

The metrics (gan/metrics.py) of --n_samples generated images beside those of real images of
the split the generator was compared with, and what the generator was trained with (read from
its checkpoint), as one results record. part2_gan/evaluate.py is the command line of it and
publishing calls it directly.
"""
from dataclasses import dataclass

from common.cli import hardware_description, positive_int, setup_run
from common.config import device_option, option, seed_option, threads_option
from common.paths import repo_relative
from gan.checkpoints import load_generator
from gan.classifier import load_classifier
from gan.data import SPLITS, load_mnist_tensor
from gan.memorisation import memorisation_against
from gan.metrics import METRICS, evaluate_against, generate, real_reference

IMAGE_FAMILIES = ("mlp.", "dcgan.")  # the MNIST generators; the 2D ones are measured by mode_collapse/
ROWS = [("inception_score", "Inception Score (classifier)", "{:.3f}"), ("fid", "FID (classifier features)", "{:.3f}"),
        ("classes_covered", "classes covered (>= 1%)", "{:d}"), ("kl_uniform", "KL(class histogram || uniform)", "{:.4f}")]


@dataclass
class EvalConfig:
    checkpoint: str = option(None, "a training checkpoint or a generator export", required=True)
    split: str = option("test", "real images to compare with: the held-out test split, which neither the "
                                "generator nor the classifier saw", choices=SPLITS)
    data_dir: str = option(None, "MNIST root (default: $MNIST_DIR, else ./data)", flag="--data-dir")
    n_samples: int = option(10_000, "generated images (at least 2)", type=positive_int)
    classifier: str = option(None, "evaluation classifier (default: the committed one)")
    results: str = option(None, "also write the metrics to this JSON file (e.g. report/results/gan_mlp.json)")
    seed: int = seed_option()
    device: str = device_option()
    threads: int = threads_option()
    out: str = option("runs/evaluate", "folder for evaluation.json")


def evaluate(config):
    """The results record of the generator in config.checkpoint (see the module's docstring)."""
    device = setup_run(config)
    G, state = load_generator(config.checkpoint, device, family=IMAGE_FAMILIES)
    split = config.split
    real, _ = load_mnist_tensor(split, config.data_dir)
    classifier, record = load_classifier(config.classifier, device)
    fake = generate(G, config.n_samples, G.latent_dim, seed=config.seed, device=device)
    metrics = evaluate_against(fake, real_reference(real, classifier, seed=config.seed), classifier)
    if state.get("split") == "train" and split == "test":  # memorisation: the training images against unseen ones
        train_images, _ = load_mnist_tensor("train", config.data_dir)
        metrics["memorisation"], metrics["real"]["memorisation"] = memorisation_against(fake, real, train_images)
    trained, seconds = state.get("config", {}), state.get("seconds", float("nan"))
    epochs = state.get("step", 0) / state["steps_per_epoch"] if state.get("steps_per_epoch") else trained.get("epochs")
    return {**{k: metrics[k] for k in METRICS},
            **{k: metrics[k] for k in ("kid", "kid_std", "precision", "recall", "memorisation") if k in metrics},
            "split": state.get("split", split), "evaluated_against": split, "generator_steps": state.get("step"),
            "epochs": epochs, "training_seconds": round(seconds, 1),
            "training_seconds_per_epoch": round(seconds / max(epochs or 1, 1e-9), 2),
            "training_hardware": state.get("hardware"), "batch_size": trained.get("batch_size"),
            "lr": trained.get("lr"), "class_histogram": metrics["class_histogram"], "n_samples": metrics["n_samples"],
            "fid_samples": metrics["fid_samples"], "real": metrics["real"],
            "checkpoint": repo_relative(config.checkpoint), "evaluation_hardware": hardware_description(device),
            "classifier": {k: record.get(k) for k in ("split", "held_out_accuracy", "how")},
            "config": trained, "evaluations": state.get("evaluations", [])}


def format_table(metrics):
    lines = [f"{'metric':34s} {'generated':>10s} {'real data':>10s}"]
    for key, label, fmt in ROWS:
        lines.append(f"{label:34s} {fmt.format(metrics[key]):>10s} {fmt.format(metrics['real'][key]):>10s}")
    return "\n".join(lines)
