"""Tune a GAN: train configurations, or record finished runs, into one table of settings -> metrics.

    python part2_gan/tune.py --split test --data-dir ../shared/data --threads 1    # the MLP GAN's table
    python part2_gan/tune.py --record runs/gan_tune/A --name ema_200ep             # add a run trained by hand

Each configuration changes a few settings of the base (the paper's) and trains from the same seed;
the finished run is evaluated with the classifier (Inception Score, FID, classes covered, KL of
the class histogram to uniform) and appended to --results at once. Configurations already there
(same name, settings, split and seed) are skipped, so an interrupted tuning resumes. --record adds
a run trained with train.py instead: finished (its metrics.json) or stopped (its last checkpoint,
evaluated here, the row saying at which epoch it stopped). dcgan/tune.py uses this machinery with
its own configurations.
"""
import json
import os
import sys


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, UsageError, add_common_args, positive_int, run_main,
                        setup_run, write_json)
from part2_gan import train as mlp_train
from part2_gan.checkpoints import TRAINING_KIND, count_parameters, load_generator
from part2_gan.classifier import load_classifier
from part2_gan.data import SPLITS, load_mnist_tensor
from part2_gan.metrics import evaluate_generator

METRICS = ("inception_score", "fid", "classes_covered", "kl_uniform")
# Options of train.py recorded in a row's settings only when they differ from these.
OPTIONAL = {"ema": None, "label_smoothing": 0.0, "augment": None}
NOTE = ("each configuration trains for its 'epochs' from the same seed, then is evaluated with 10,000 samples and the "
        "classifier of part2_gan (FID on its 64 features); seconds are wall-clock training time, on a CPU shared "
        "with other jobs")

# The MLP GAN: the assignment's settings, then the remedies of a small training set.
MLP_PAPER = {"lr": 2e-4, "beta1": 0.5, "batch_size": 64}
MLP_CONFIGS = [
    ("paper_200ep", {"epochs": 200}),
    ("ema_200ep", {"ema": 0.999, "epochs": 200}),
    ("ema_ls_200ep", {"ema": 0.999, "label_smoothing": 0.1, "epochs": 200}),
    ("ema_translation_200ep", {"ema": 0.999, "augment": "translation", "epochs": 200}),
    ("ema_translation_cutout_200ep", {"ema": 0.999, "augment": "translation,cutout", "epochs": 200}),
]


def build_parser(results="report/results/gan_mlp_tuning.json", out="runs/gan_tune", description=None):
    p = ArgumentParser(description=description or __doc__.splitlines()[0])
    p.add_argument("--epochs", type=positive_int, default=10, help="budget of configurations that set none")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these configurations")
    p.add_argument("--split", choices=SPLITS, default="train", help="MNIST split to train on")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--results", default=results, help="the table of all configurations")
    p.add_argument("--eval_every", type=positive_int, default=None,
                   help="also evaluate every this many epochs (both G and its average; kept in the table)")
    p.add_argument("--record", default=None, metavar="RUN", help="train nothing: add the run in folder RUN")
    p.add_argument("--name", default=None, help="its name in the table (default: the folder's name)")
    add_common_args(p, out=out)
    return p


def train_argv(name, settings, args):
    """train.py's command line for one configuration."""
    argv = [f"--{key}={value}" for key, value in settings.items()]
    argv += ["--split", args.split, "--seed", str(args.seed), "--device", args.device,
             "--out", os.path.join(args.out, name), "--quiet"]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    if args.eval_every:
        argv += ["--eval_every", str(args.eval_every)]
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


def settings_of_run(config, paper):
    """The settings of a run, from the config its checkpoint or metrics.json holds."""
    settings = {k: config[k] for k in (*paper, "epochs")}
    settings.update({k: config[k] for k, default in OPTIONAL.items() if config.get(k, default) != default})
    return settings


def metrics_of_checkpoint(run, data_dir, device):
    """The metrics.json a stopped run would have written: its last checkpoint, evaluated now."""
    path = os.path.join(run, "checkpoint.pt")
    G, state = load_generator(path, device)
    if state["kind"] != TRAINING_KIND:
        raise UsageError(f"--record: {path} is not a training checkpoint")
    images, _ = load_mnist_tensor(state["split"], data_dir)
    classifier, _ = load_classifier(None, device)
    metrics = evaluate_generator(G, images, classifier, device=device)
    D_params = sum(v.numel() for k, v in state["discriminator"].items() if "running" not in k and "num_batches" not in k)
    return {**metrics, "config": state["config"], "split": state["split"], "epochs": state["epoch"],
            "seconds": round(state["seconds"], 2), "seconds_per_epoch": round(state["seconds"] / max(state["epoch"], 1), 2),
            "generator_steps": state["step"], "generator_parameters": count_parameters(G),
            "discriminator_parameters": D_params, "hardware": state["hardware"],
            "evaluations": state.get("evaluations", [])}


def record_run(run, name, table, paper, args, check_key=None):
    """Add the train.py run in folder ``run`` to ``table``; returns its row."""
    path = os.path.join(run, "metrics.json")
    if os.path.isfile(path):
        with open(path) as f:
            metrics = json.load(f)
        stopped = None
    elif os.path.isfile(os.path.join(run, "checkpoint.pt")):
        metrics = metrics_of_checkpoint(run, args.data_dir, setup_run(args))
        stopped = metrics["epochs"]
    else:
        raise UsageError(f"--record: neither metrics.json nor checkpoint.pt in {run}")
    if "inception_score" not in metrics or (check_key and check_key not in metrics.get("config", {})):
        raise UsageError(f"--record: {run} is not an evaluated run of this GAN")
    config = metrics["config"]
    line = row(name, settings_of_run(config, paper), metrics, metrics["split"], config["seed"])
    line["run"] = run
    if stopped is not None:
        line["stopped_at_epoch"] = stopped
        line["note"] = f"stopped by hand at epoch {stopped} of {config['epochs']}; evaluated from that checkpoint"
    table["runs"] = [r for r in table["runs"] if r["name"] != name] + [line]
    return line


def format_table(runs):
    head = f"{'configuration':30s} {'IS':>6s} {'FID':>7s} {'classes':>7s} {'KL':>7s} {'s/epoch':>8s}"
    rows = [f"{r['name']:30s} {r['inception_score']:6.3f} {r['fid']:7.2f} {r['classes_covered']:7d} "
            f"{r['kl_uniform']:7.4f} {r['seconds_per_epoch']:8.1f}" for r in sorted(runs, key=lambda r: r["fid"])]
    return "\n".join([head] + rows)


def tune(args, configs, paper, train_main, check_key=None):
    """Train the configurations (or --record one run) into the table at args.results."""
    names = [name for name, _ in configs]
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        raise UsageError(f"unknown configuration {', '.join(unknown)}: choose from {', '.join(names)}")
    table = read_results(args.results)
    table["note"] = NOTE
    if args.record:
        line = record_run(args.record, args.name or os.path.basename(os.path.normpath(args.record)), table, paper,
                          args, check_key)
        write_json(args.results, table)
        print(format_table([r for r in table["runs"] if r["split"] == line["split"]]))
        print(f"added {line['name']} to {args.results}")
        return table
    for name, changes in configs:
        if args.only and name not in args.only:
            continue
        settings = {**paper, "epochs": args.epochs, **changes}
        if done(table, name, settings, args.split, args.seed):
            print(f"{name}: already in {args.results}, skipped")
            continue
        print(f"{name}: {settings}", flush=True)
        metrics = train_main(train_argv(name, settings, args))
        table["runs"].append(row(name, settings, metrics, args.split, args.seed))
        write_json(args.results, table)
    print(format_table([r for r in table["runs"] if r["split"] == args.split]))
    print(f"wrote {args.results} ({len(table['runs'])} configurations) and the runs in {args.out}")
    return table


def main(argv=None):
    args = build_parser().parse_args(argv)
    return tune(args, MLP_CONFIGS, MLP_PAPER, mlp_train.main)


if __name__ == "__main__":
    run_main(main)
