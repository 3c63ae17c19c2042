"""Tune each 2D method's learning rates on seeds that are not reported (100, 101, 102).

    python mode_collapse/tune_2d.py --setting paper --jobs 2            # into runs/mode_collapse_tuning
    python mode_collapse/tune_2d.py --setting paper --jobs 2 --publish  # + report/results/mode_collapse_2d_tuning.json

For every method and mixture, the grid is the method's rates before tuning (train_2d.RATES: D's
and G's) times each factor of --factors, both rates scaled together (so the Unrolled GAN's D
stays slower than its G), at the setting's budget (the same steps and batch as the sweep). Every
trial is trained on every tuning seed; the rate chosen is the one with the most modes captured
on average over the seeds, ties broken by the larger high-quality fraction (then the smaller
rate). Writes OUT/mode_collapse_2d_tuning.json: every trial (rates, seed, modes, high-quality
fraction, KL, seconds) and the chosen rates per setting, dataset and method, which sweep_2d.py
reads (--rates tuned). A rerun skips the trials already done; an interrupted trial continues
from its checkpoint. --publish merges the trials into the committed file (replacing the same
setting, method, dataset, rates and seed) and chooses again from the merged trials.
"""
import dataclasses
import json
import os

import torch

from common.cli import ArgumentParser, non_negative_int, pick_device, positive_float, positive_int, run_main, write_json
from common.paths import RESULTS
from common.runs import writable_folder
from mode_collapse.runner import add_job_args, read_json, run_many
from mode_collapse.train_2d import DATASETS, METHODS, SETTINGS, method_config, rates, run_name

COMMITTED = os.path.join(RESULTS, "mode_collapse_2d_tuning.json")
SEEDS = [100, 101, 102]
# Factors of RATES per setting. Ours: the rates were set by hand before, so around them. Paper:
# PacGAN's 1e-4 was meant for 400,000 steps, the sweep affords a few thousand: upwards.
FACTORS = {"ours": [1 / 3, 1.0, 3.0], "paper": [1.0, 3.0, 10.0]}
# A method that is a variant of another takes its rates unless it was tuned itself: the Unrolled
# GAN with K = 10 has K = 5's rates (the same method; tuning it too would double the tuning's
# most expensive part, about 90 minutes in our setting and hours in the papers').
RATES_OF = {"unrolled10": "unrolled5"}
CRITERION = ("the most modes captured, mean over the tuning seeds; ties: the larger mean high-quality fraction, "
             "then the smaller rate")
TRIAL_KEYS = ("setting", "method", "dataset", "seed", "lr", "lr_g", "factor", "modes", "high_quality", "kl",
              "seconds", "generator_steps", "discriminator_steps", "n_samples", "threshold", "hardware", "config")


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setting", choices=list(SETTINGS), default="ours")
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=[m for m in METHODS if m not in RATES_OF],
                   help="default: all but unrolled10, which takes unrolled5's rates unless tuned itself (RATES_OF)")
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=SEEDS,
                   help="tuning seeds (keep them apart from the reported 0-4)")
    p.add_argument("--factors", type=positive_float, nargs="+", default=None,
                   help="multiples of the table's rates to try (default: the setting's, FACTORS)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="generator steps of every trial (default: the setting's, per mixture; the sweep then needs "
                        "the same --steps)")
    p.add_argument("--snapshots", type=positive_int, default=5, help="measurements during each trial")
    p.add_argument("--publish", action="store_true", help="merge the trials into " + os.path.relpath(COMMITTED))
    add_job_args(p, "trials")
    p.add_argument("--out", default="runs/mode_collapse_tuning", help="folder for the trials and their results")
    return p


def trial_config(method, dataset, setting, factor, steps=None):
    lr, lr_g = rates(method, dataset, setting)
    return method_config(method, dataset, setting, lr=lr * factor, lr_g=lr_g * factor, steps=steps)


def trial_dir(out, config, factor, seed):
    return os.path.join(out, run_name(config.setting, config.dataset, config.method, seed) + f"_x{factor:g}")


def trial_of(record, factor):
    """The tuning record of a finished trial: its rates and results, without the curve and histogram."""
    record = {**record, "lr": record["config"]["lr"], "lr_g": record["config"]["lr_g"], "factor": factor}
    return {k: record[k] for k in TRIAL_KEYS if k in record}


def trial_key(t):
    return t["setting"], t["method"], t["dataset"], t["lr"], t["lr_g"], t["seed"]


def choose(trials, seeds):
    """{setting: {dataset: {method: chosen}}} from the trials: per method and dataset, the rates whose
    trials cover every seed of ``seeds`` with the most modes on average (then the most high-quality
    samples, then the smaller rate). chosen = {lr, lr_g, factor, modes, high_quality, steps,
    batch_size, seeds, candidates}; where trials of several budgets exist, the largest budget's."""
    groups = {}
    for t in trials:
        if t["seed"] in seeds:
            budget = t["config"]["steps"], t["config"]["batch_size"]
            groups.setdefault((t["setting"], t["dataset"], t["method"], budget), {}).setdefault(
                (t["lr"], t["lr_g"]), []).append(t)
    chosen = {}
    for (setting, dataset, method, (steps, batch_size)), by_rate in sorted(groups.items(), key=lambda g: g[0][3]):
        candidates = []
        for (lr, lr_g), ts in sorted(by_rate.items()):
            if {t["seed"] for t in ts} >= set(seeds):
                ts = [t for t in ts if t["seed"] in seeds]
                candidates.append({"lr": lr, "lr_g": lr_g, "factor": ts[0].get("factor"),
                                   "modes": sum(t["modes"] for t in ts) / len(ts),
                                   "high_quality": sum(t["high_quality"] for t in ts) / len(ts)})
        if not candidates:
            continue
        best = max(candidates, key=lambda c: (c["modes"], c["high_quality"], -c["lr"]))
        # one budget per method and dataset: the trials at the largest budget tuned
        chosen.setdefault(setting, {}).setdefault(dataset, {})[method] = {
            **best, "steps": steps, "batch_size": batch_size, "seeds": sorted(seeds), "candidates": candidates}
    for by_method in (d for s in chosen.values() for d in s.values()):
        for method, source in RATES_OF.items():
            if method not in by_method and source in by_method:
                by_method[method] = {**by_method[source], "rates_of": source, "candidates": []}
    return chosen


def results(trials, seeds):
    return {"criterion": CRITERION, "seeds": sorted(seeds), "factors": FACTORS,
            "note": "seeds 100-102 tune; the sweep reports seeds 0-4 with the chosen rates (sweep_2d.py --rates tuned)",
            "chosen": choose(trials, seeds), "trials": trials}


def read_trials(path):
    if not os.path.exists(path):
        return []
    data = read_json(path, "tuning results")
    if not isinstance(data, dict) or not isinstance(data.get("trials"), list):
        raise ValueError(f"{path} is not a tuning results file (no list of trials): move it away")
    return data["trials"]


def merge_trials(trials, new):
    replaced = {trial_key(t) for t in new}
    return sorted([t for t in trials if trial_key(t) not in replaced] + list(new),
                  key=lambda t: (t["setting"], t["dataset"], list(METHODS).index(t["method"])
                                 if t["method"] in METHODS else len(METHODS), t["lr"], t["lr_g"], t["seed"]))


def run_tuning(args):
    if args.threads and args.jobs == 1:
        torch.set_num_threads(args.threads)
    if set(args.seeds) & {0, 1, 2, 3, 4}:
        print("note: tuning on a reported seed (0-4) selects on the numbers that are reported")
    device = pick_device(args.device)
    factors = args.factors or FACTORS[args.setting]
    json_path = os.path.join(writable_folder(args.out), "mode_collapse_2d_tuning.json")
    trials = read_trials(json_path)
    wanted = {}
    for dataset in args.datasets:
        for method in args.methods:
            for factor in factors:
                config = trial_config(method, dataset, args.setting, factor, args.steps)
                for seed in args.seeds:
                    wanted[(args.setting, method, dataset, config.lr, config.lr_g, seed)] = (config, factor, seed)
    # a trial is done when the results file holds it with the same full config
    done = {trial_key(t) for t in trials if trial_key(t) in wanted
            and t.get("config") == json.loads(json.dumps(dataclasses.asdict(wanted[trial_key(t)][0])))}
    todo = [(key, v) for key, v in wanted.items() if key not in done]
    tasks = [(config, seed, trial_dir(args.out, config, factor, seed), device, args.snapshots)
             for _, (config, factor, seed) in todo]
    factor_of = {(c.method, c.dataset, c.lr, c.lr_g): factor for c, factor, _ in wanted.values()}
    count = [0]

    def on_record(task, record):
        nonlocal trials
        c = task[0]
        trials = merge_trials(trials, [trial_of(record, factor_of[(c.method, c.dataset, c.lr, c.lr_g)])])
        write_json(json_path, results(trials, args.seeds))
        count[0] += 1
        print(f"[{count[0]}/{len(tasks)}] {record['method']} on {record['dataset']} ({args.setting}), lr "
              f"{record['config']['lr']:.2g}/{record['config']['lr_g']:.2g}, seed {record['seed']}: "
              f"{record['modes']} modes, {100 * record['high_quality']:.1f}% high quality ({record['seconds']:.0f} s)",
              flush=True)
    run_many(tasks, args.jobs, args.threads, on_record)
    summary = results(trials, args.seeds)
    paths = [write_json(json_path, summary)]
    if args.publish:
        published = results(merge_trials(read_trials(COMMITTED), trials), args.seeds)
        paths.append(write_json(COMMITTED, published))
    for dataset, by_method in summary["chosen"].get(args.setting, {}).items():
        for method, c in by_method.items():
            print(f"{args.setting} {dataset} {method}: lr {c['lr']:.2g} (D), {c['lr_g']:.2g} (G): "
                  f"{c['modes']:.1f} modes, "
                  f"{100 * c['high_quality']:.1f}% high quality over seeds {', '.join(map(str, c['seeds']))}")
    print(f"wrote {', '.join(paths)}")
    return summary


def main(argv=None):
    return run_tuning(build_parser().parse_args(argv))


if __name__ == "__main__":
    run_main(main)
