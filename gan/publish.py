"""Turn a finished GAN run into the curated files the report and the notebooks cite.

From RUN (a training run's folder) ``publish`` writes, under a report folder:
  checkpoints/NAME_generator.pt    the generator alone, float16 (a few MB, committed)
  figures/NAME_samples_{start,halfway,end}.png, NAME_losses.png (drawn again from the history)
  figures/NAME_interpolation.png   9 images between two digits (gan/interpolation.py)
  figures/NAME_interpolation_pairs.png  the same for four pairs (0-6, 1-7, 3-8, 4-9), linear and
                                   spherical, with results/NAME_interpolation_pairs.json
  results/NAME.json                the metrics of gan/evaluation.py, computed from the export
  results/NAME_history.json        the loss history, thinned to at most --max_points points
Every input is checked and every file produced in a staging folder first; only then are the
files moved into place, each with an atomic rename. A bad input changes nothing.
"""
import json
import os
import shutil
import tempfile

from common.cli import write_json
from gan.checkpoints import export_generator, load_generator
from gan.classifier import load_classifier
from gan.evaluation import IMAGE_FAMILIES, EvalConfig, evaluate
from gan.interpolation import PAIRS, PAIRS_TITLE, interpolation_row, pair_rows, pairs_record, plot_pairs, plot_row
from gan.samples import plot_history
from gan.trainer import TRAINING_KIND

RUN_FILES = ("samples_start.png", "samples_halfway.png", "samples_end.png", "history.json")
TITLES = {"mlp": "MLP GAN", "dcgan": "DCGAN"}  # a network family's name in the loss figure


def thin(history, max_points):
    n = len(history["step"])
    stride = max(1, -(-n // max_points))
    return {k: v[::stride] for k, v in history.items()} | {"stride": stride}


def check_run(run, digit_from, digit_to):
    """Raise (FileNotFoundError, ValueError) unless RUN holds a finished image-GAN run to publish."""
    if digit_from == digit_to or not {digit_from, digit_to} <= set(range(10)):
        raise ValueError(f"--from {digit_from} --to {digit_to}: choose two different digits 0-9")
    missing = [f for f in ("checkpoint.pt", *RUN_FILES) if not os.path.isfile(os.path.join(run, f))]
    if missing:
        raise FileNotFoundError(f"{run} lacks {', '.join(missing)}: publish a finished training run")
    _, state = load_generator(os.path.join(run, "checkpoint.pt"), family=IMAGE_FAMILIES)
    if state["kind"] != TRAINING_KIND:
        raise ValueError(f"{run}/checkpoint.pt is not a training checkpoint")
    with open(os.path.join(run, "history.json")) as f:
        history = json.load(f)
    if not history.get("step"):
        raise ValueError(f"{run}/history.json holds no training steps")
    family = state["networks"]["generator"]["name"].split(".")[0]
    return history, TITLES.get(family, family)


def stage(run, name, staging, history, data_dir, digits, device, max_points, title):
    """Produce every published file of RUN in ``staging``; returns {relative path: staged path}."""
    files = {}
    for sub in ("checkpoints", "figures", "results"):
        os.makedirs(os.path.join(staging, sub), exist_ok=True)
    export = os.path.join(staging, "checkpoints", f"{name}_generator.pt")
    export_generator(os.path.join(run, "checkpoint.pt"), export)
    files[f"checkpoints/{name}_generator.pt"] = export
    for tag in ("start", "halfway", "end"):
        files[f"figures/{name}_samples_{tag}.png"] = os.path.join(run, f"samples_{tag}.png")
    # drawn again from the history, so that the figure is the current code's whatever drew the run's
    files[f"figures/{name}_losses.png"] = plot_history(history, os.path.join(staging, "figures", f"{name}_losses.png"),
                                                       title=title)
    files[f"results/{name}_history.json"] = write_json(os.path.join(staging, "results", f"{name}_history.json"),
                                                       thin(history, max_points))
    result = evaluate(EvalConfig(checkpoint=export, data_dir=data_dir, device=str(device), out=staging))
    result["checkpoint"] = f"report/checkpoints/{name}_generator.pt"
    files[f"results/{name}.json"] = write_json(os.path.join(staging, "results", f"{name}.json"), result)
    G, _ = load_generator(export, device)
    classifier, _ = load_classifier(None, device)
    images, labels, confs = interpolation_row(G, classifier, *digits, device=device)
    figure = os.path.join(staging, "figures", f"{name}_interpolation.png")
    plot_row(images, labels, confs, figure,
             title=f"linear interpolation, 7 steps: {digits[0]} to {digits[1]} (classifier's digit and confidence)")
    files[f"figures/{name}_interpolation.png"] = figure
    rows = pair_rows(G, classifier, PAIRS, device=device)
    files[f"figures/{name}_interpolation_pairs.png"] = plot_pairs(
        rows, os.path.join(staging, "figures", f"{name}_interpolation_pairs.png"), PAIRS_TITLE.format(steps=7))
    files[f"results/{name}_interpolation_pairs.json"] = write_json(
        os.path.join(staging, "results", f"{name}_interpolation_pairs.json"),
        pairs_record(rows, 7, f"report/checkpoints/{name}_generator.pt"))
    return files


def publish(run, name, report_dir, data_dir=None, digits=(1, 7), device="cpu", max_points=2000):
    """Publish RUN as NAME into report_dir (see the module's docstring); returns the paths written."""
    history, title = check_run(run, *digits)
    os.makedirs(report_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".publish-", dir=report_dir)
    try:
        files = stage(run, name, staging, history, data_dir, digits, device, max_points, title)
        written = []
        for rel, src in files.items():
            dest = os.path.join(report_dir, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            tmp = f"{dest}.tmp{os.getpid()}"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
            written.append(dest)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
