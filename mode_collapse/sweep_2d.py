"""The committed 2D experiment: every method on the ring and the grid, several seeds.

    python mode_collapse/sweep_2d.py --threads 1      # the committed results (see README for the time)
    python mode_collapse/sweep_2d.py --quick          # smoke test in seconds, results under --out

Writes report/results/mode_collapse_2d.json (one record per method, dataset and seed: modes
captured, high-quality fraction, KL to uniform, seconds, and the same measured during
training), report/figures/mode_collapse_ring.png and mode_collapse_grid.png (seed 0's samples
over the true modes at several steps, one row per method) and mode_collapse_curves.png (modes
captured and high-quality fraction over training, mean over seeds). Records are saved after
every run; a rerun skips the runs already in the results file with the same settings unless
--fresh is given.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import ArgumentParser, UsageError, pick_device, positive_int, run_main, write_json
from mode_collapse.figures import LABELS, load_snapshots, plot_curves, plot_samples
from mode_collapse.mixtures import mixture
from common.checkpoint import load_checkpoint, load_weights
from mode_collapse.metrics import N_SAMPLES, generator_modes
from mode_collapse.models import generator_labels
from mode_collapse.train_2d import DATASETS, METHODS, build_networks, final_samples, method_config, train_2d
from part2_gan.checkpoints import TRAINING_KIND

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_JSON = os.path.join(REPO, "report", "results", "mode_collapse_2d.json")
DEFAULT_FIGURES = os.path.join(REPO, "report", "figures")
QUICK = {"steps": 40, "batch_size": 50}
QUICK_SNAPSHOTS = 4


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--snapshots", type=positive_int, default=10, help="measurements during each run")
    p.add_argument("--json", default=None, help=f"results file (default {os.path.relpath(DEFAULT_JSON, REPO)})")
    p.add_argument("--figures", default=None,
                   help=f"folder for the figures (default {os.path.relpath(DEFAULT_FIGURES, REPO)})")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test: {QUICK['steps']} steps, batch {QUICK['batch_size']}, seed 0, "
                        "results and figures under --out")
    p.add_argument("--fresh", action="store_true", help="rerun runs already in the results file")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--out", default="runs/mode_collapse", help="folder for each run's files")
    return p


def sweep_config(method, dataset, quick=False):
    return method_config(method, dataset, **(QUICK if quick else {}))


def _comparable(config):
    return json.loads(json.dumps(config))  # tuples become lists, as in the results file


def summarise(records, key):
    """{(method, dataset): (mean, min, max)} of ``key`` over seeds (None values skipped)."""
    groups = {}
    for r in records:
        if r[key] is not None:
            groups.setdefault((r["method"], r["dataset"]), []).append(r[key])
    return {g: (sum(v) / len(v), min(v), max(v)) for g, v in groups.items()}


def summary_table(records, methods, datasets):
    """A Markdown table: modes (mean, min to max), high-quality %, KL and seconds per method and dataset."""
    stats = {key: summarise(records, key) for key in ("modes", "high_quality", "kl", "seconds")}
    lines = ["| method | data | seeds | modes captured, mean (min to max) | high quality, % | KL to uniform | seconds |",
             "|---|---|---|---|---|---|---|"]
    for dataset in datasets:
        n_modes = mixture(dataset).n_modes
        for method in methods:
            runs = [r for r in records if r["method"] == method and r["dataset"] == dataset]
            if not runs:
                continue
            m, lo, hi = stats["modes"][(method, dataset)]
            hq = stats["high_quality"][(method, dataset)]
            kl = stats["kl"].get((method, dataset))
            sec = stats["seconds"][(method, dataset)]
            lines.append(f"| {LABELS.get(method, method)} | {dataset} | {len(runs)} | {m:.1f} / {n_modes} ({lo} to {hi}) "
                         f"| {100 * hq[0]:.1f} ({100 * hq[1]:.1f} to {100 * hq[2]:.1f}) "
                         f"| {'n/a' if kl is None else f'{kl[0]:.3f}'} | {sec[0]:.0f} |")
    return "\n".join(lines)


def run_dir(out, dataset, method, seed):
    return os.path.join(out, f"{dataset}_{method}_seed{seed}")


def run_sweep(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)  # each run seeds itself (train_2d)
    if args.quick:
        args.seeds, args.snapshots = [0], QUICK_SNAPSHOTS
    json_path = args.json or (os.path.join(args.out, "mode_collapse_2d.json") if args.quick else DEFAULT_JSON)
    fig_dir = args.figures or (args.out if args.quick else DEFAULT_FIGURES)
    records = []
    if os.path.exists(json_path) and not args.fresh:
        try:
            with open(json_path) as f:
                records = json.load(f)
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read {json_path}: {err} (pass --fresh to start over)") from None
        # keep only records made with the settings this sweep would use
        records = [r for r in records if r.get("dataset") in DATASETS and r.get("method") in METHODS
                   and r.get("config") == _comparable(sweep_config(r["method"], r["dataset"], args.quick))
                   and len(r.get("curve", [])) == args.snapshots + 1]
    for r in records:
        if r["method"] == "madgan" and "generators" not in r:
            add_generator_modes(r, run_dir(args.out, r["dataset"], r["method"], r["seed"]))
    done = {(r["method"], r["dataset"], r["seed"]) for r in records}
    jobs = [(m, d, s) for d in args.datasets for s in args.seeds for m in args.methods if (m, d, s) not in done]
    for n, (method, dataset, seed) in enumerate(jobs, 1):
        record = train_2d(sweep_config(method, dataset, args.quick), dataset, seed, run_dir(args.out, dataset, method, seed),
                          device, args.snapshots)
        records.append(record)
        records.sort(key=lambda r: (r["dataset"], list(METHODS).index(r["method"]), r["seed"]))
        write_json(json_path, records)
        print(f"[{n}/{len(jobs)}] {method} on {dataset}, seed {seed}: {record['modes']}/{len(record['mode_histogram'])} "
              f"modes, {100 * record['high_quality']:.1f}% high quality ({record['seconds']:.0f} s)", flush=True)
    write_json(json_path, records)
    figures = write_figures(records, args, fig_dir)
    print(summary_table(records, args.methods, args.datasets))
    print(f"wrote {json_path} and {', '.join(figures)}")
    return records


def add_generator_modes(record, folder):
    """Where each MAD-GAN generator's final samples fall, for a record written before train_2d measured it.

    Rebuilds the generator from the run's checkpoint and draws the same 2,500 final samples.
    """
    path = os.path.join(folder, "checkpoint.pt")
    if not os.path.exists(path):
        return
    state = load_checkpoint(path, TRAINING_KIND)
    mix = mixture(record["dataset"])
    G, _ = build_networks(record["config"], mix)
    load_weights(G, state["generator"], path)
    k = record["config"]["generators"]
    samples = final_samples(G, N_SAMPLES, record["seed"], "cpu")
    record["generators"] = generator_modes(samples, generator_labels(N_SAMPLES, k), k, mix)


def write_figures(records, args, fig_dir):
    """The figures of every method and dataset in the results file, not only those this call trained
    (a sweep of one method must not drop the others from the committed figures)."""
    methods = [m for m in METHODS if any(r["method"] == m for r in records)]
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in records)]
    paths = []
    for dataset in datasets:
        rows = []
        for method in methods:
            run = [r for r in records if r["method"] == method and r["dataset"] == dataset and r["seed"] == args.seeds[0]]
            path = os.path.join(run_dir(args.out, dataset, method, args.seeds[0]), "snapshots.pt")
            if run and os.path.exists(path):
                rows.append((LABELS.get(method, method), load_snapshots(path), run[0]["curve"]))
            elif run:
                print(f"note: {path} is missing: {method} left out of the {dataset} figure", file=sys.stderr)
        if rows:
            paths.append(plot_samples(rows, os.path.join(fig_dir, f"mode_collapse_{dataset}.png"),
                                      title=f"{dataset}: samples (blue) over the modes (red), seed {args.seeds[0]}"))
    n_modes = {d: mixture(d).n_modes for d in datasets}
    paths.append(plot_curves(records, os.path.join(fig_dir, "mode_collapse_curves.png"), methods, datasets, n_modes))
    return paths


def main(argv=None):
    return run_sweep(build_parser().parse_args(argv))


if __name__ == "__main__":
    run_main(main)
