"""Stacked MNIST's budgets and results: the budgets every method shares, the results file of each
budget (report/results/stacked_mnist[_long].json: the protocol, the budget and why, the published
anchors, the real stacks' measures, every run), merging a run into it, and its figures.
"""
import json
import os

from common.checkpoint import load_checkpoint
from common.cli import write_json
from common.paths import FIGURES, RESULTS
from mode_collapse.figures import plot_mode_histograms, plot_modes_over_training
from mode_collapse.stacked_mnist import N_MODES, N_SAMPLES, PUBLISHED, mode_coverage, read_stacks, stack_mnist

COMMITTED_JSON = os.path.join(RESULTS, "stacked_mnist.json")
# One budget for every method: the same generator steps, batch and training stacks (PacGAN's 128,000,
# here from the training split alone). Chosen so that a run of the slowest method, the Unrolled GAN
# (K = 5), fits about 30 minutes on one core of the 2-core CPU with its evaluations: bench.py --stacked
# measured 555 ms per step for it (WGAN-GP 410, MAD-GAN 121, DCGAN 102, PacDCGAN2 79) and 118 s per
# evaluation, on a core shared with other jobs: 2,400 steps are 22 minutes, and 4 evaluations 8 more.
# PacGAN trained 50 epochs of its 128,000 stacks (100,000 steps of a larger DCGAN): this is 1.2 epochs.
BUDGETS = {"standard": {"steps": 2400, "batch_size": 64, "n_stacks": 128_000},
           "long": {"steps": 10_000, "batch_size": 64, "n_stacks": 128_000}}
BUDGET = BUDGETS["standard"]
BUDGET_NOTES = {
    "standard": ("every method trains the same generator steps on batches of the same size, drawn from the same "
                 "training stacks (three digits of the MNIST training split each); the budget was chosen so that one "
                 "run of the slowest method, the Unrolled GAN (K = 5), fits about 30 minutes on one core of a 2-core "
                 "CPU with its 4 evaluations of 26,000 samples (mode_collapse/bench.py --stacked: 555 ms per step, 118 s "
                 "per evaluation); PacGAN's own runs were 50 epochs of 128,000 stacks with a larger DCGAN, about 40 "
                 "times this budget. training_seconds gives each run's measured training time"),
    "long": ("the standard budget leaves most samples half-formed (a few percent read confidently), so the three "
             "methods whose step costs about as much as the DCGAN's (dcgan, pacdcgan2, madgan) also train 10,000 "
             "generator steps, the most that MAD-GAN's run fits in about 30 minutes on one core with its 4 "
             "evaluations; the Unrolled GAN (K = 5) and WGAN-GP (5 critic steps) cost 5 to 7 DCGAN steps per "
             "step and would need 2 to 3 hours. The same steps, batch and training stacks for the three"),
}
# The methods in the order of the tables and figures, and their names there.
LABELS = {"dcgan": "DCGAN", "unrolled": "Unrolled GAN, K=5", "unrolled_nobn": "Unrolled GAN, K=5, D without BN",
          "pacdcgan2": "PacDCGAN2", "madgan": "MAD-GAN, k=8",
          "wgan_gp": "WGAN-GP"}


def _results_file(path):
    """The results file as a dict, or None when it does not exist; ValueError when it is not one."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {path}: {err} (move it away)") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError(f"{path} is not a Stacked MNIST results file (no list of runs): move it away")
    return data


def read_results(path):
    """The results file's runs (a list), or [] when it does not exist; ValueError when it is not one."""
    data = _results_file(path)
    return data["runs"] if data else []


def budget_of(record):
    c = record["config"]
    return {"steps": c["steps"], "batch_size": c["batch_size"], "n_stacks": c["n_stacks"]}


def check_budget(runs, budget, replacing=None):
    """ValueError when ``budget`` is not the budget of ``runs`` (leaving out the run ``replacing``
    replaces, a (method, seed)): every method of a results file gets the same budget."""
    others = {json.dumps(budget_of(r), sort_keys=True) for r in runs if (r["method"], r["seed"]) != replacing}
    mine = json.dumps(budget, sort_keys=True)
    if others - {mine}:
        raise ValueError(f"the results would mix budgets ({'; '.join(sorted(others | {mine}))}): every method gets "
                         "the same budget -- rerun with the budget of the published runs, or move the results file away")


def merge_runs(runs, new):
    """``runs`` with ``new`` in place of the run of the same method and seed; ValueError if the budgets differ."""
    key = (new["method"], new["seed"])
    check_budget(runs, budget_of(new), replacing=key)
    merged = [r for r in runs if (r["method"], r["seed"]) != key] + [new]
    order = list(LABELS)
    return sorted(merged, key=lambda r: (order.index(r["method"]) if r["method"] in order else len(order), r["seed"]))


def measure_real(images, labels, classifier, device="cpu", n=N_SAMPLES):
    """The measures of n real stacks of training digits (seeded), as the classifier reads them, and
    how often it reads a stack's three digits right."""
    stacks, truth = stack_mnist(images, labels, n, seed=1)
    modes, confidence = read_stacks(stacks.to(device), classifier)
    cov = mode_coverage(modes.cpu(), confidence.cpu())
    return {"n_samples": n, "modes": cov["modes"], "kl": cov["kl"], "confident": cov["confident"],
            "modes_confident": cov["modes_confident"], "read_right": float((modes.cpu() == truth).float().mean())}


def read_real(path):
    """The real-stacks measures of a results file, or None."""
    data = _results_file(path)
    return data.get("real_stacks") if data else None


def results_path_of(budget):
    """The committed results file of a budget: stacked_mnist.json, stacked_mnist_long.json."""
    name = "stacked_mnist" if budget == "standard" else f"stacked_mnist_{budget}"
    return os.path.join(os.path.dirname(COMMITTED_JSON), name + ".json")


def results(runs, real=None, budget="standard"):
    """The results file: the protocol, the budget (with its reason), the published anchors, the
    measures of real stacks (``real``, measure_real), every run."""
    note = BUDGET_NOTES[budget]
    budget = budget_of(runs[0]) if runs else dict(BUDGETS[budget])
    seconds = {f"{r['method']} (seed {r['seed']})": r["training_seconds"] for r in runs}
    return {"protocol": {"n_samples": N_SAMPLES, "n_modes": N_MODES,
                         "measures": "modes: of the 1,000 triples, those holding at least one sample; kl: KL(mode "
                                     "histogram of the samples || uniform), 0 log 0 = 0",
                         "classifier": "gan/weights/mnist_classifier.pt (trained on the MNIST training split), "
                                       "applied to each channel"},
            "budget": {**budget, "training_images": "MNIST training split (60,000 images)", "note": note,
                       "training_seconds": seconds},
            "published": PUBLISHED, **({"real_stacks": real} if real else {}), "runs": runs}


def publish(record, out, results_path=None, figures=None, real=None, budget="standard"):
    """Merge the record into the results file (default: the budget's committed one; ``real``: the real
    stacks' measures, else the file's) and draw the figures (in report/figures); returns the paths written."""
    from gan.samples import save_grid
    results_path, figures = results_path or results_path_of(budget), figures or FIGURES
    prefix = os.path.splitext(os.path.basename(results_path_of(budget)))[0]
    runs = merge_runs(read_results(results_path), record)
    paths = [write_json(results_path, results(runs, real or read_real(results_path), budget))]
    if record["seed"] == min(r["seed"] for r in runs if r["method"] == record["method"]):
        grid = load_checkpoint(os.path.join(out, "samples.pt"), "mode_collapse/stacked_samples")["samples"]
        paths.append(save_grid(grid, os.path.join(figures, f"{prefix}_samples_{record['method']}.png"), nrow=8,
                               title=f"{LABELS.get(record['method'], record['method'])}, seed {record['seed']}: "
                                     f"{record['modes']} modes, KL {record['kl']:.2f}"))
    paths.append(plot_mode_histograms(runs, os.path.join(figures, f"{prefix}_modes.png"), LABELS))
    paths.append(plot_modes_over_training(runs, os.path.join(figures, f"{prefix}_curves.png"), LABELS, list(LABELS)))
    return paths
