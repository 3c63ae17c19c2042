"""Tune the DCGAN: train each configuration of CONFIGS for a short budget and record
settings -> metrics and training time.

    python dcgan/tune.py --split test --data-dir ../shared/data --threads 1

Every configuration starts from the paper's settings (Adam, lr 2e-4, beta1 0.5, batch 64) at
widths ngf = ndf = 32 and changes one or two of them: the widths, the learning rate, beta1, the
batch size. A first round trains each for the same short budget (--epochs), a second round the
best of the first for longer; all from the same seed, through dcgan/train.py, evaluated with the
classifier (Inception Score, FID, classes covered, KL of the class histogram to uniform).
Each finished configuration is appended to --results at once, and configurations already
there (same name, settings, budget, split and seed) are skipped: an interrupted sweep resumes.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import ArgumentParser, UsageError, add_common_args, positive_int, run_main, write_json
from dcgan import train
from part2_gan.data import SPLITS

PAPER = {"ngf": 32, "ndf": 32, "lr": 2e-4, "beta1": 0.5, "batch_size": 64}

# (name, changes to PAPER); the first is the baseline the others are compared with.
CONFIGS = [
    ("w32", {}),
    ("w16", {"ngf": 16, "ndf": 16}),
    ("w64", {"ngf": 64, "ndf": 64}),
    ("g64_d32", {"ngf": 64, "ndf": 32}),
    ("g32_d64", {"ngf": 32, "ndf": 64}),
    ("w32_lr1e-4", {"lr": 1e-4}),
    ("w32_lr4e-4", {"lr": 4e-4}),
    ("w32_beta1_0.9", {"beta1": 0.9}),
    ("w32_batch32", {"batch_size": 32}),
    ("w32_batch128", {"batch_size": 128}),
    # Second round, a longer budget: the best learning rate of the first round at two generator widths.
    ("w32_lr4e-4_25ep", {"lr": 4e-4, "epochs": 25}),
    ("g64_d32_lr4e-4_25ep", {"ngf": 64, "lr": 4e-4, "epochs": 25}),
]
METRICS = ("inception_score", "fid", "classes_covered", "kl_uniform")
OPTIONAL = {"ema": None, "label_smoothing": 0.0}  # train.py options recorded only when they differ from these


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=positive_int, default=10, help="training budget of the configurations that do not set their own")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these configurations")
    p.add_argument("--split", choices=SPLITS, default="train", help="MNIST split to train on")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--results", default="report/results/dcgan_tuning.json", help="the table of all configurations")
    p.add_argument("--record", default=None, metavar="RUN",
                   help="train nothing: add the finished dcgan/train.py run in folder RUN to the table")
    p.add_argument("--name", default=None, help="its name in the table (default: the folder's name)")
    add_common_args(p, out="runs/dcgan_tune")
    return p


def settings_of(changes, epochs):
    return {**PAPER, "epochs": epochs, **changes}


def train_argv(name, settings, args):
    """dcgan/train.py's command line for one configuration."""
    argv = [f"--{key}={value}" for key, value in settings.items()]
    argv += ["--split", args.split, "--seed", str(args.seed), "--device", args.device,
             "--out", os.path.join(args.out, name), "--quiet"]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    return argv


def read_results(path):
    if not os.path.exists(path):
        return {"runs": []}
    try:
        with open(path) as f:
            table = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"cannot read {path}: {err}; move it away to start a new table") from None
    if not isinstance(table, dict) or not isinstance(table.get("runs"), list):
        raise UsageError(f"{path} is not a tuning table (no 'runs' list); move it away to start a new table")
    return table


def done(table, name, settings, split, seed):
    return any(r["name"] == name and r["settings"] == settings and r["split"] == split and r["seed"] == seed
               for r in table["runs"])


def row(name, settings, metrics, split, seed):
    """One line of the table: the settings, the metrics, the training time."""
    return {"name": name, "settings": settings, "split": split, "seed": seed,
            **{k: metrics[k] for k in METRICS}, "class_histogram": metrics["class_histogram"],
            "seconds": metrics["seconds"], "seconds_per_epoch": metrics["seconds_per_epoch"],
            "generator_steps": metrics["generator_steps"],
            "generator_parameters": metrics["generator_parameters"],
            "discriminator_parameters": metrics["discriminator_parameters"],
            "hardware": metrics["hardware"], "real": {k: metrics["real"][k] for k in METRICS},
            **({"evaluations": metrics["evaluations"]} if metrics.get("evaluations") else {})}


def settings_of_run(config):
    """The settings of a finished run, from the config its metrics.json holds."""
    settings = {k: config[k] for k in (*PAPER, "epochs")}
    settings.update({k: config[k] for k, default in OPTIONAL.items() if config.get(k, default) != default})
    return settings


def record_run(run, name, table):
    """Add the finished train.py run in folder ``run`` to ``table``; returns its row."""
    path = os.path.join(run, "metrics.json")
    if not os.path.isfile(path):
        raise UsageError(f"--record: no metrics.json in {run}: train it with dcgan/train.py first")
    with open(path) as f:
        metrics = json.load(f)
    if "inception_score" not in metrics or "ngf" not in metrics.get("config", {}):
        raise UsageError(f"--record: {path} is not an evaluated dcgan/train.py run")
    config = metrics["config"]
    line = row(name, settings_of_run(config), metrics, metrics["split"], config["seed"])
    line["run"] = run
    table["runs"] = [r for r in table["runs"] if r["name"] != name] + [line]
    return line


def format_table(runs):
    head = f"{'configuration':24s} {'IS':>6s} {'FID':>7s} {'classes':>7s} {'KL':>7s} {'s/epoch':>8s}"
    rows = [f"{r['name']:24s} {r['inception_score']:6.3f} {r['fid']:7.2f} {r['classes_covered']:7d} "
            f"{r['kl_uniform']:7.4f} {r['seconds_per_epoch']:8.1f}" for r in sorted(runs, key=lambda r: r["fid"])]
    return "\n".join([head] + rows)


def main(argv=None):
    args = build_parser().parse_args(argv)
    names = [name for name, _ in CONFIGS]
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        raise UsageError(f"unknown configuration {', '.join(unknown)}: choose from {', '.join(names)}")
    table = read_results(args.results)
    if args.record:
        line = record_run(args.record, args.name or os.path.basename(os.path.normpath(args.record)), table)
        write_json(args.results, table)
        print(format_table([r for r in table["runs"] if r["split"] == line["split"]]))
        print(f"added {line['name']} to {args.results}")
        return table
    for name, changes in CONFIGS:
        if args.only and name not in args.only:
            continue
        settings = settings_of(changes, args.epochs)
        if done(table, name, settings, args.split, args.seed):
            print(f"{name}: already in {args.results}, skipped")
            continue
        print(f"{name}: {settings}", flush=True)
        metrics = train.main(train_argv(name, settings, args))
        table["runs"].append(row(name, settings, metrics, args.split, args.seed))
        table["note"] = ("each configuration trains for its 'epochs' from the same seed, then is evaluated with "
                         "10,000 samples and the classifier of part2_gan (FID on its 64 features); seconds are "
                         "wall-clock training time, on a CPU shared with other jobs")
        write_json(args.results, table)
    print(format_table([r for r in table["runs"] if r["split"] == args.split]))
    print(f"wrote {args.results} ({len(table['runs'])} configurations) and the runs in {args.out}")
    return table


if __name__ == "__main__":
    run_main(main)
