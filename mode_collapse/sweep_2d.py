"""The 2D experiment: every method on the ring and the grid, seeds 0-4, at equal budgets.

    python mode_collapse/tune_2d.py --setting paper --jobs 2 --publish               # the learning rates first
    python mode_collapse/sweep_2d.py --setting paper --jobs 2 --publish              # then the sweep with them
    python mode_collapse/sweep_2d.py --quick                                         # smoke test in seconds

Within a setting (train_2d.SETTINGS: ours, or the papers' networks and protocol) and a mixture
every method trains for the same generator steps with the same batch; the learning rates are the
ones tune_2d.py chose on seeds 100-102, which are not reported (--rates tuned, the default, reads
them from --tuning; --rates table uses train_2d.RATES as they are). Writes OUT/mode_collapse_2d.json
(one record per setting, method, dataset and seed: modes captured, high-quality fraction, KL to
uniform, seconds of training, and the same measured during training), the samples figures of
seed 0 (one row per method) and the curves (modes and high-quality fraction over training, mean
and range over the seeds): mode_collapse_{ring,grid,curves}.png for our setting,
mode_collapse_paper_{ring,grid,curves}.png for the papers'. Records are saved after every run; a
rerun skips the runs already in the results file with the same settings (unless --fresh), and
continues an interrupted run from its checkpoint. --jobs N trains N runs at a time, each on one
thread (a 2-core machine: --jobs 2). With --publish the records are merged into
report/results/mode_collapse_2d.json (replacing only records of the same setting, method, dataset
and seed) and the figures redrawn in report/figures from the merged records.
"""
import dataclasses
import json
import os
import sys

import torch

from common.cli import ArgumentParser, non_negative_int, pick_device, positive_int, run_main, write_json
from common.paths import FIGURES, RESULTS
from common.runs import writable_folder
from mode_collapse.figures import LABELS, load_snapshots, plot_curves, plot_samples
from mode_collapse.mixtures import mixture
from mode_collapse.runner import add_job_args, read_json, run_many
from mode_collapse.train_2d import DATASETS, METHODS, SETTINGS, method_config, run_name

COMMITTED_JSON = os.path.join(RESULTS, "mode_collapse_2d.json")
COMMITTED_TUNING = os.path.join(RESULTS, "mode_collapse_2d_tuning.json")
SEEDS = [0, 1, 2, 3, 4]
SETTING_NAMES = {"ours": "our setting", "paper": "the papers' setting"}
QUICK = {"steps": 40}
QUICK_SNAPSHOTS = 4


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setting", choices=list(SETTINGS), default="ours",
                   help="ours (small MLPs) or paper (PacGAN's and VEEGAN's networks, batch and optimiser)")
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=SEEDS, help="the seeds reported")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="generator steps of every method on every mixture (default: the setting's, per mixture); "
                        "tuned rates must have been tuned at the same steps")
    p.add_argument("--snapshots", type=positive_int, default=10, help="measurements during each run")
    p.add_argument("--rates", choices=("tuned", "table"), default="tuned",
                   help="learning rates: tuned (chosen by tune_2d.py, read from --tuning) or table (train_2d.RATES)")
    p.add_argument("--tuning", default=COMMITTED_TUNING, help="tune_2d.py's results file, for --rates tuned")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test: {QUICK['steps']} steps, seed 0, the table's rates")
    p.add_argument("--fresh", action="store_true", help="rerun runs already in the results file")
    p.add_argument("--publish", action="store_true",
                   help="merge the records into report/results/mode_collapse_2d.json and redraw report/figures")
    add_job_args(p, "runs")
    p.add_argument("--out", default="runs/mode_collapse", help="folder for each run's files")
    return p


# ----------------------------------------------------------------------------- learning rates
def tuned_rates(tuning, setting, datasets, methods, steps=None, path="the tuning file"):
    """{(dataset, method): (lr, lr_g)} chosen by tune_2d.py for the budget the sweep trains with
    (``steps``: the sweep's --steps, None for the setting's); ValueError naming what is missing."""
    chosen = (tuning.get("chosen") or {}).get(setting, {}) if isinstance(tuning, dict) else {}
    out, missing = {}, []
    for d in datasets:
        for m in methods:
            entry = chosen.get(d, {}).get(m)
            budget = sweep_config(m, d, setting, steps=steps)
            if entry is None:
                missing.append(f"{m} on {d}")
            elif (entry.get("steps"), entry.get("batch_size")) != (budget.steps, budget.batch_size):
                missing.append(f"{m} on {d} at {budget.steps} steps of {budget.batch_size} (tuned at "
                               f"{entry.get('steps')} of {entry.get('batch_size')})")
            else:
                out[(d, m)] = (entry["lr"], entry["lr_g"])
    if missing:
        raise ValueError(f"{path} has no tuned rates of the {setting} setting for {'; '.join(missing)}: run "
                         f"tune_2d.py --setting {setting} --publish first, with the same --steps (or pass --tuning "
                         "PATH, or --rates table)")
    return out


def sweep_config(method, dataset, setting="ours", quick=False, lr=None, steps=None):
    """The config of one run of the sweep: the setting's budget (or ``steps``), the method's objective
    and optimiser, ``lr`` = (D's, G's) rate (None: the table's)."""
    overrides = dict(QUICK) if quick else {"steps": steps}
    if lr is not None:
        overrides.update(lr=lr[0], lr_g=lr[1])
    return method_config(method, dataset, setting, **overrides)


def _comparable(config):
    return json.loads(json.dumps(dataclasses.asdict(config)))  # as in the results file


# ----------------------------------------------------------------------------- records
def setting_of(record):
    return record.get("setting", "ours")  # records from before settings existed are ours


def summarise(records, key):
    """{(method, dataset): (mean, min, max)} of ``key`` over seeds (None values skipped)."""
    groups = {}
    for r in records:
        if r[key] is not None:
            groups.setdefault((r["method"], r["dataset"]), []).append(r[key])
    return {g: (sum(v) / len(v), min(v), max(v)) for g, v in groups.items()}


def summary_table(records, methods, datasets, n_modes):
    """A Markdown table: modes (mean, min to max), high-quality %, KL and seconds per method and dataset."""
    stats = {key: summarise(records, key) for key in ("modes", "high_quality", "kl", "seconds")}
    lines = ["| method | data | seeds | steps, batch | modes captured, mean (min to max) | high quality, % "
             "| KL to uniform | seconds |", "|---|---|---|---|---|---|---|---|"]
    for dataset in datasets:
        for method in methods:
            runs = [r for r in records if r["method"] == method and r["dataset"] == dataset]
            if not runs:
                continue
            m, lo, hi = stats["modes"][(method, dataset)]
            hq = stats["high_quality"][(method, dataset)]
            kl = stats["kl"].get((method, dataset))
            sec = stats["seconds"][(method, dataset)]
            budget = f"{runs[0]['generator_steps']}, {runs[0]['config']['batch_size']}"
            lines.append(f"| {LABELS.get(method, method)} | {dataset} | {len(runs)} | {budget} "
                         f"| {m:.1f} / {n_modes[dataset]} ({lo} to {hi}) "
                         f"| {100 * hq[0]:.1f} ({100 * hq[1]:.1f} to {100 * hq[2]:.1f}) "
                         f"| {'n/a' if kl is None else f'{kl[0]:.3f}'} | {sec[0]:.0f} |")
    return "\n".join(lines)


def run_dir(out, dataset, method, seed, setting="ours"):
    return os.path.join(out, run_name(setting, dataset, method, seed))


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


def record_key(r):
    return setting_of(r), r["method"], r["dataset"], r["seed"]


def merge(records, new):
    """``records`` with every record of ``new`` in place of one of the same setting, method, dataset and seed."""
    replaced = {record_key(r) for r in new}
    order, settings = list(METHODS), list(SETTINGS)

    def position(r):
        s, m = setting_of(r), r["method"]
        return (settings.index(s) if s in settings else len(settings), s, r["dataset"],
                order.index(m) if m in order else len(order), m, r["seed"])
    return sorted([r for r in records if record_key(r) not in replaced] + list(new), key=position)


def figure_names(setting):
    """The figure files of a setting: ours keeps the names the report cites."""
    prefix = "mode_collapse" if setting == "ours" else f"mode_collapse_{setting}"
    return {"ring": f"{prefix}_ring.png", "grid": f"{prefix}_grid.png", "curves": f"{prefix}_curves.png"}


def pending(args, records, config_of, device):
    """(the records to keep, the tasks still to train): of the runs this sweep makes, a record is kept
    only when it was made with the settings the sweep would use now; --fresh starts a run folder over."""
    def current(r):
        if (setting_of(r) != args.setting or r.get("dataset") not in args.datasets
                or r.get("method") not in args.methods):
            return True
        return (r.get("config") == _comparable(config_of(r["method"], r["dataset"]))
                and len(r.get("curve", [])) == args.snapshots + 1)
    records = [r for r in records if current(r)]
    done = {record_key(r) for r in records}
    tasks = []
    for dataset in args.datasets:
        for seed in args.seeds:
            for method in args.methods:
                if (args.setting, method, dataset, seed) in done:
                    continue
                out = run_dir(args.out, dataset, method, seed, args.setting)
                if args.fresh and os.path.isfile(os.path.join(out, "checkpoint.pt")):
                    os.remove(os.path.join(out, "checkpoint.pt"))  # the sweep's own run folder: start it over
                tasks.append((config_of(method, dataset), seed, out, device, args.snapshots))
    return records, tasks


def run_sweep(args):
    if args.threads and args.jobs == 1:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)  # each run seeds itself (train_2d)
    if args.quick:
        args.seeds, args.snapshots, args.rates = [0], QUICK_SNAPSHOTS, "table"
    json_path = os.path.join(writable_folder(args.out), "mode_collapse_2d.json")
    records = [] if args.fresh else read_records(json_path)
    lrs = {}
    if args.rates == "tuned":
        lrs = tuned_rates(read_json(args.tuning, "--tuning"), args.setting, args.datasets, args.methods, args.steps,
                          args.tuning)

    def config_of(method, dataset):
        return sweep_config(method, dataset, args.setting, args.quick, lrs.get((dataset, method)), args.steps)
    records, tasks = pending(args, records, config_of, device)
    finished = []

    def on_record(task, record):
        nonlocal records
        records = merge(records, [record])
        write_json(json_path, records)
        finished.append(record)
        print(f"[{len(finished)}/{len(tasks)}] {record['method']} on {record['dataset']} ({args.setting}), seed "
              f"{record['seed']}: {record['modes']}/{len(record['mode_histogram'])} modes, "
              f"{100 * record['high_quality']:.1f}% high quality ({record['seconds']:.0f} s)", flush=True)
    run_many(tasks, args.jobs, args.threads, on_record)
    write_json(json_path, records)
    mine = [r for r in records if setting_of(r) == args.setting]
    paths = [json_path] + write_figures(mine, args, args.out)
    if args.publish:
        published = merge(read_records(COMMITTED_JSON), mine)
        paths += [write_json(COMMITTED_JSON, published)]
        paths += write_figures([r for r in published if setting_of(r) == args.setting], args, FIGURES,
                               complete_only=True)
    n_modes = {d: mixture(d).n_modes for d in args.datasets}
    print(summary_table(mine, args.methods, args.datasets, n_modes))
    print(f"wrote {', '.join(paths)}")
    return mine


def write_figures(records, args, fig_dir, complete_only=False):
    """The figures of every method and dataset in ``records`` (one setting's), not only those this call trained.

    A samples figure needs each method's snapshots.pt in OUT; with ``complete_only`` (the
    committed figures) a figure that would miss a method is left as it was, never redrawn
    with fewer rows."""
    methods = [m for m in METHODS if any(r["method"] == m for r in records)]
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in records)]
    names, seed = figure_names(args.setting), args.seeds[0]
    paths = []
    for dataset in datasets:
        rows = []
        for method in methods:
            run = [r for r in records if r["method"] == method and r["dataset"] == dataset and r["seed"] == seed]
            path = os.path.join(run_dir(args.out, dataset, method, seed, args.setting), "snapshots.pt")
            if run and os.path.exists(path):
                rows.append((LABELS.get(method, method), load_snapshots(path), run[0]["curve"]))
            elif run:
                print(f"note: {path} is missing: {method} left out of the {dataset} figure", file=sys.stderr)
                rows = None if complete_only else rows
            if rows is None:
                break
        if rows:
            paths.append(plot_samples(rows, os.path.join(fig_dir, names[dataset]),
                                      title=f"{dataset} ({SETTING_NAMES[args.setting]}): samples (blue) over the modes "
                                            f"(red), seed {seed}"))
    n_modes = {d: mixture(d).n_modes for d in datasets}
    paths.append(plot_curves(records, os.path.join(fig_dir, names["curves"]), methods, datasets, n_modes))
    return paths


def main(argv=None):
    return run_sweep(build_parser().parse_args(argv))


if __name__ == "__main__":
    run_main(main)
