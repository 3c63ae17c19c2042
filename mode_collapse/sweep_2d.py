"""The 2D experiment: every method on the ring and the grid, several seeds.

    python mode_collapse/sweep_2d.py --threads 1             # into runs/mode_collapse (about an hour)
    python mode_collapse/sweep_2d.py --threads 1 --publish   # ... and merged into the committed results
    python mode_collapse/sweep_2d.py --quick                 # smoke test in seconds

Writes OUT/mode_collapse_2d.json (one record per method, dataset and seed: modes captured,
high-quality fraction, KL to uniform, seconds, and the same measured during training),
mode_collapse_ring.png and mode_collapse_grid.png (seed 0's samples over the true modes at
several steps, one row per method) and mode_collapse_curves.png (modes captured and
high-quality fraction over training, mean over seeds). Records are saved after every run; a
rerun skips the runs already in the results file with the same settings (unless --fresh), and
continues an interrupted run from its checkpoint. With --publish the records are merged into
report/results/mode_collapse_2d.json (replacing only records of the same method, dataset and
seed) and the figures redrawn in report/figures from the merged records.
"""
import dataclasses
import json
import os
import sys

import torch

from common.cli import ArgumentParser, pick_device, positive_int, run_main, write_json
from common.paths import FIGURES, RESULTS
from common.runs import writable_folder
from mode_collapse.figures import LABELS, load_snapshots, plot_curves, plot_samples
from mode_collapse.mixtures import mixture
from mode_collapse.train_2d import DATASETS, METHODS, method_config, train_2d

COMMITTED_JSON = os.path.join(RESULTS, "mode_collapse_2d.json")
QUICK = {"steps": 40, "batch_size": 50}
QUICK_SNAPSHOTS = 4


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--snapshots", type=positive_int, default=10, help="measurements during each run")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test: {QUICK['steps']} steps, batch {QUICK['batch_size']}, seed 0")
    p.add_argument("--fresh", action="store_true", help="rerun runs already in the results file")
    p.add_argument("--publish", action="store_true",
                   help="merge the records into report/results/mode_collapse_2d.json and redraw report/figures")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--out", default="runs/mode_collapse", help="folder for each run's files")
    return p


def sweep_config(method, dataset, quick=False):
    return method_config(method, dataset, **(QUICK if quick else {}))


def _comparable(config):
    return json.loads(json.dumps(dataclasses.asdict(config)))  # as in the results file


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


def read_records(path):
    if not os.path.exists(path):
        return []
    try:
        with open(path) as f:
            records = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {path}: {err} (move it away, or pass --fresh for a new one)") from None
    if not isinstance(records, list):
        raise ValueError(f"{path} is not a list of 2D records (move it away, or pass --fresh for a new one)")
    return records


def merge(records, new):
    """``records`` with every record of ``new`` in place of one of the same method, dataset and seed."""
    def key(r):
        return r["method"], r["dataset"], r["seed"]
    replaced = {key(r) for r in new}
    order = list(METHODS)
    return sorted([r for r in records if key(r) not in replaced] + list(new),
                  key=lambda r: (r["dataset"], order.index(r["method"]) if r["method"] in order else len(order),
                                 r["method"], r["seed"]))


def run_sweep(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)  # each run seeds itself (train_2d)
    if args.quick:
        args.seeds, args.snapshots = [0], QUICK_SNAPSHOTS
    json_path = os.path.join(writable_folder(args.out), "mode_collapse_2d.json")
    records = [] if args.fresh else read_records(json_path)
    # keep only records made with the settings this sweep would use
    records = [r for r in records if r.get("dataset") in DATASETS and r.get("method") in METHODS
               and r.get("config") == _comparable(sweep_config(r["method"], r["dataset"], args.quick))
               and len(r.get("curve", [])) == args.snapshots + 1]
    done = {(r["method"], r["dataset"], r["seed"]) for r in records}
    jobs = [(m, d, s) for d in args.datasets for s in args.seeds for m in args.methods if (m, d, s) not in done]
    for n, (method, dataset, seed) in enumerate(jobs, 1):
        out = run_dir(args.out, dataset, method, seed)
        resume = os.path.isfile(os.path.join(out, "checkpoint.pt")) and not args.fresh
        record = train_2d(sweep_config(method, dataset, args.quick), seed, out, device, args.snapshots, resume=resume)
        records = merge(records, [record])
        write_json(json_path, records)
        print(f"[{n}/{len(jobs)}] {method} on {dataset}, seed {seed}: {record['modes']}/{len(record['mode_histogram'])} "
              f"modes, {100 * record['high_quality']:.1f}% high quality ({record['seconds']:.0f} s)", flush=True)
    write_json(json_path, records)
    paths = [json_path] + write_figures(records, args, args.out)
    if args.publish:
        published = merge(read_records(COMMITTED_JSON), records)
        paths += [write_json(COMMITTED_JSON, published)] + write_figures(published, args, FIGURES, complete_only=True)
    print(summary_table(records, args.methods, args.datasets))
    print(f"wrote {', '.join(paths)}")
    return records


def write_figures(records, args, fig_dir, complete_only=False):
    """The figures of every method and dataset in ``records``, not only those this call trained.

    A samples figure needs each method's snapshots.pt in OUT; with ``complete_only`` (the
    committed figures) a figure that would miss a method is left as it was, never redrawn
    with fewer rows."""
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
                rows = None if complete_only else rows
            if rows is None:
                break
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
