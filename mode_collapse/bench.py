"""Seconds per generator step of every mode-collapse method, and what the sweeps will cost.

    python mode_collapse/bench.py --setting paper --threads 1            # 2D methods, into runs/bench_mode_collapse
    python mode_collapse/bench.py --stacked --threads 1                  # Stacked MNIST methods (fake data)
    python mode_collapse/bench.py --setting paper --threads 1 --publish  # + report/results/mode_collapse_speed.json

Each method's training step (gan/trainer.py's train_step: its n_critic discriminator updates
and one generator update, with the networks, batch and objective of its run) is timed by
common/bench.py (warm-up, interleaved rounds, median and spread). From the medians: the
training seconds of one run, and of the 2D sweep (seeds 0-4) and the tuning (tune_2d.py's grid
on seeds 100-102) of a setting, with the runs spread over --jobs processes; or of one Stacked
MNIST run per method. Snapshots and evaluations come on top (seconds for the 2D runs; the
Stacked MNIST evaluations are estimated from the timing of one). Time with the machine otherwise
idle: a core shared with another job roughly doubles every figure.
"""
import os

import torch

from common.bench import add_timing_args, describe, start, time_interleaved, timing_header, write_timings
from common.cli import ArgumentParser, positive_int, run_main
from common.outputs import add_output_args
from common.paths import RESULTS
from mode_collapse.mixtures import MixtureBatches, mixture
from mode_collapse.train_2d import DATASETS, METHODS, SETTINGS, build, method_config

SWEEP_SEEDS, TUNING_SEEDS = 5, 3


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setting", choices=list(SETTINGS), default="paper", help="the 2D setting to time")
    p.add_argument("--methods", nargs="+", default=None, help="default: all of the 2D (or Stacked MNIST) methods")
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    p.add_argument("--jobs", type=positive_int, default=2, help="runs at a time in the estimates (one per core)")
    p.add_argument("--stacked", action="store_true", help="time the Stacked MNIST methods instead (fake stacks)")
    add_timing_args(p, rounds=5, calls=20, warmup=5)
    add_output_args(p, "runs/bench_mode_collapse", os.path.join(RESULTS, "mode_collapse_speed.json"))
    return p


def trainer_2d(config, device):
    """A bare GANTrainer of a 2D config: the run's networks, objective and batches, no callbacks."""
    from gan.trainer import GANTrainer
    data = MixtureBatches(mixture(config.dataset, **config.mixture), config.batch_size, device)
    G, D, objective, opt_G, opt_D = build(config, data, device)
    return GANTrainer(G, D, objective, opt_G, opt_D, data, config.steps, config.latent_dim, device=device)


def bench_2d(args, device):
    from mode_collapse.tune_2d import FACTORS
    methods = args.methods or list(METHODS)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown 2D methods {', '.join(unknown)}: use {', '.join(METHODS)}")
    result = {"setting": args.setting, "jobs": args.jobs, "datasets": {}}
    sweep_total = tuning_total = 0.0
    for dataset in args.datasets:
        configs = {m: method_config(m, dataset, args.setting) for m in methods}
        trainers = {m: trainer_2d(c, device) for m, c in configs.items()}
        timings = time_interleaved({m: t.train_step for m, t in trainers.items()}, rounds=args.rounds,
                                   calls=args.calls, warmup=args.warmup, device=device)
        rows = {}
        for m in methods:
            run = timings[m].median * configs[m].steps
            rows[m] = {"seconds_per_step": timings[m].median, "spread": timings[m].as_dict(),
                       "steps": configs[m].steps, "batch_size": configs[m].batch_size, "seconds_per_run": round(run, 1)}
            sweep_total += SWEEP_SEEDS * run
            tuning_total += TUNING_SEEDS * len(FACTORS[args.setting]) * run
            print(f"  {dataset:4s} {m:10s} {1e3 * timings[m].median:8.1f} ms/step (rounds {1e3 * timings[m].min:.1f}-"
                  f"{1e3 * timings[m].max:.1f})  {run:7.0f} s per run of {configs[m].steps} steps")
        result["datasets"][dataset] = rows
    result["estimate"] = {
        "sweep_seconds": round(sweep_total / args.jobs), "tuning_seconds": round(tuning_total / args.jobs),
        "how": f"training seconds of {SWEEP_SEEDS} seeds (sweep) and {TUNING_SEEDS} seeds x "
               f"{len(FACTORS[args.setting])} rates (tuning) of every timed method and dataset, over {args.jobs} "
               "runs at a time; snapshots and process start-up not included"}
    print(f"estimated training time on {args.jobs} cores: sweep {sweep_total / args.jobs / 60:.0f} min, "
          f"tuning {tuning_total / args.jobs / 60:.0f} min ({args.setting} setting)")
    return result


def bench_stacked(args, device):
    from mode_collapse import train_stacked
    methods = args.methods or list(train_stacked.METHODS)
    unknown = sorted(set(methods) - set(train_stacked.METHODS))
    if unknown:
        raise ValueError(f"unknown Stacked MNIST methods {', '.join(unknown)}: use {', '.join(train_stacked.METHODS)}")
    images = torch.rand(2000, 1, 28, 28) * 2 - 1
    labels = torch.arange(2000) % 10
    configs = {m: train_stacked.stacked_config(m) for m in methods}
    trainers = {m: train_stacked.build_trainer(c, images, labels, device) for m, c in configs.items()}
    timings = time_interleaved({m: t.train_step for m, t in trainers.items()}, rounds=args.rounds, calls=args.calls,
                               warmup=args.warmup, device=device)
    evaluation = train_stacked.time_evaluation(trainers[methods[0]].G, device)
    result = {"evaluation_seconds": round(evaluation, 1), "methods": {}}
    print(f"  one evaluation ({train_stacked.N_SAMPLES:,} samples generated and classified): {evaluation:.0f} s")
    for m in methods:
        c = configs[m]
        train = timings[m].median * c.steps
        total = train + evaluation * len(train_stacked.evaluation_steps(c))
        result["methods"][m] = {"seconds_per_step": timings[m].median, "spread": timings[m].as_dict(), "steps": c.steps,
                                "batch_size": c.batch_size, "training_seconds": round(train),
                                "run_seconds_with_evaluations": round(total)}
        print(f"  {m:10s} {1e3 * timings[m].median:8.1f} ms/step  {train / 60:6.1f} min of training for {c.steps} "
              f"steps, {total / 60:6.1f} min with its {len(train_stacked.evaluation_steps(c))} evaluations")
    return result


def main(argv=None):
    args, device, out = start(build_parser(), argv, "mode_collapse_speed.json")
    header = timing_header(args, device)
    print(f"{describe(header['environment'])}, {args.rounds} rounds of {args.calls} steps per method")
    result = {**header, **(bench_stacked(args, device) if args.stacked else bench_2d(args, device))}
    write_timings(result, out, "mode_collapse_speed.json", args)
    return result


if __name__ == "__main__":
    run_main(main)
