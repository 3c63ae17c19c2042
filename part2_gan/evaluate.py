"""Evaluate a trained generator with the MNIST classifier: Inception Score, FID, class coverage.

    python part2_gan/evaluate.py --checkpoint runs/gan_mlp/checkpoint.pt --split test --data-dir ../shared/data

Prints a table of the generator's metrics beside those of real images, and writes them as
JSON (--out/evaluation.json, and --results when given, e.g. report/results/gan_mlp.json).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, add_common_args, hardware_description, positive_int, run_main, setup_run,
                        write_json)
from common.paths import repo_relative
from part2_gan.checkpoints import load_generator
from part2_gan.classifier import load_classifier
from part2_gan.data import SPLITS, load_mnist_tensor
from part2_gan.metrics import evaluate_generator

ROWS = [("inception_score", "Inception Score (classifier)", "{:.3f}"), ("fid", "FID (classifier features)", "{:.3f}"),
        ("classes_covered", "classes covered (>= 1%)", "{:d}"), ("kl_uniform", "KL(class histogram || uniform)", "{:.4f}")]


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="a training checkpoint or a generator export")
    p.add_argument("--split", choices=SPLITS, default=None,
                   help="real images to compare with (default: the split the generator trained on)")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--n_samples", type=positive_int, default=10_000, help="generated images")
    p.add_argument("--classifier", default=None, help="evaluation classifier (default: the committed one)")
    p.add_argument("--results", default=None, help="also write the metrics to this JSON file")
    add_common_args(p, out="runs/evaluate")
    return p


def format_table(metrics):
    lines = [f"{'metric':34s} {'generated':>10s} {'real data':>10s}"]
    for key, label, fmt in ROWS:
        lines.append(f"{label:34s} {fmt.format(metrics[key]):>10s} {fmt.format(metrics['real'][key]):>10s}")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    G, state = load_generator(args.checkpoint, device)
    split = args.split or state.get("split", "train")
    real, _ = load_mnist_tensor(split, args.data_dir)
    classifier, record = load_classifier(args.classifier, device)
    metrics = evaluate_generator(G, real, classifier, n_samples=args.n_samples, seed=args.seed, device=device)
    config = state.get("config", {})
    result = {**{k: metrics[k] for k in ("inception_score", "fid", "classes_covered", "kl_uniform")},
              "split": state.get("split", split), "epochs": state.get("epoch"),
              "training_seconds": round(state.get("seconds", float("nan")), 1),
              "training_seconds_per_epoch": round(state.get("seconds", float("nan")) / max(state.get("epoch") or 1, 1), 2),
              "training_hardware": state.get("hardware"), "batch_size": config.get("batch_size"),
              "lr": config.get("lr"), "evaluated_against": split,
              "class_histogram": metrics["class_histogram"], "n_samples": metrics["n_samples"],
              "fid_samples": metrics["fid_samples"], "real": metrics["real"],
              "checkpoint": repo_relative(args.checkpoint), "evaluation_hardware": hardware_description(device),
              "classifier": {k: record[k] for k in ("split", "held_out_accuracy", "how")},
              "config": config, "evaluations": state.get("evaluations", [])}
    print(format_table(metrics))
    os.makedirs(args.out, exist_ok=True)
    paths = [os.path.join(args.out, "evaluation.json")] + ([args.results] if args.results else [])
    for path in paths:
        write_json(path, result)
    print(f"wrote {' and '.join(paths)}")
    return result


if __name__ == "__main__":
    run_main(main)
