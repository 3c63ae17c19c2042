"""Tuning tables: train configurations (or record finished runs) into one table of settings -> metrics.

Each configuration is the base config with a few fields changed, trained from the same seed by
``train(config)`` and evaluated with the classifier (Inception Score, FID, classes covered, KL
of the class histogram to uniform); its row is merged into the table at once (atomically), so
an interrupted tuning resumes: a configuration already there with the same settings, split and
seed is skipped. ``record_run`` adds a run trained by hand: finished (its metrics.json) or
stopped (its last checkpoint, evaluated now, the row saying at which epoch it stopped).
part2_gan/tune.py and dcgan/tune.py are the command lines of it.
"""
import dataclasses
import json
import os

from common.cli import ArgumentParser, add_common_args, positive_int, setup_run, write_json
from common.paths import RESULTS
from gan.checkpoints import count_parameters, load_generator
from gan.data import add_data_args
from gan.evaluation import EvalConfig, evaluate
from gan.metrics import METRICS
from gan.mnist import train
from gan.trainer import TRAINING_KIND

# Measures a row keeps when the run has them (memorisation: runs on the training split).
EXTRA_METRICS = ("kid", "precision", "recall", "memorisation")
# Options recorded in a row's settings only when they differ from these.
OPTIONAL = {"ema": None, "label_smoothing": 0.0, "augment": None, "lr_decay": False}
NOTE = ("each configuration trains for its 'epochs' from the same seed, then is evaluated with 10,000 samples and the "
        "evaluation classifier (FID on its 64 features); seconds are wall-clock training time")


def build_parser(name, out, description):
    """The tuning scripts' options; the table is runs/... unless --publish (report/results/NAME.json)."""
    p = ArgumentParser(description=description)
    p.add_argument("--epochs", type=positive_int, default=10, help="budget of configurations that set none")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these configurations")
    add_data_args(p, what="MNIST split to train on")
    p.add_argument("--eval_every", type=positive_int, default=None,
                   help="also evaluate every this many epochs (both G and its average; kept in the table)")
    p.add_argument("--classifier", default=None, help="evaluation classifier (default: the committed one)")
    p.add_argument("--record", default=None, metavar="RUN", help="train nothing: add the run in folder RUN")
    p.add_argument("--name", default=None, help="its name in the table (default: the folder's name)")
    p.add_argument("--results", default=None, help="the table (default: OUT/tuning.json)")
    p.add_argument("--publish", action="store_true", help=f"merge into the committed report/results/{name}.json")
    add_common_args(p, out=out)
    p.set_defaults(committed=os.path.join(RESULTS, f"{name}.json"))
    return p


def table_path(args):
    if args.publish and args.results:
        raise ValueError("--publish and --results name two tables: choose one")
    return args.committed if args.publish else (args.results or os.path.join(args.out, "tuning.json"))


def read_table(path):
    if not os.path.exists(path):
        return {"runs": []}
    try:
        with open(path) as f:
            table = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}; move it away to start a new table") from None
    if not isinstance(table, dict) or not isinstance(table.get("runs"), list):
        raise ValueError(f"{path} is not a tuning table (no 'runs' list); move it away to start a new table")
    return table


def settings_of(config, paper):
    """The settings of a run that a row records: the paper's keys, the epochs, and the remedies switched on."""
    config = config if isinstance(config, dict) else dataclasses.asdict(config)
    settings = {k: config[k] for k in (*paper, "epochs")}
    settings.update({k: config[k] for k, default in OPTIONAL.items() if config.get(k, default) != default})
    return settings


def row(name, settings, metrics, split, seed):
    """One line of the table: the settings, the metrics, the training time."""
    return {"name": name, "settings": settings, "split": split, "seed": seed,
            **{k: metrics[k] for k in METRICS}, "class_histogram": metrics["class_histogram"],
            **{k: metrics[k] for k in EXTRA_METRICS if k in metrics},
            "seconds": metrics["seconds"], "seconds_per_epoch": metrics["seconds_per_epoch"],
            "generator_steps": metrics["generator_steps"],
            "generator_parameters": metrics["generator_parameters"],
            "discriminator_parameters": metrics["discriminator_parameters"],
            "hardware": metrics["hardware"], "real": {k: metrics["real"][k] for k in (*METRICS, *EXTRA_METRICS) if k in metrics["real"]},
            **({"evaluations": metrics["evaluations"]} if metrics.get("evaluations") else {})}


def merge(table, line):
    table["runs"] = [r for r in table["runs"] if r["name"] != line["name"]] + [line]


def metrics_of_checkpoint(run, data_dir, device, classifier=None):
    """The metrics.json a stopped run would have written: its last checkpoint, evaluated now as a
    finished run is (gan/evaluation.py: against the held-out test split)."""
    path = os.path.join(run, "checkpoint.pt")
    G, state = load_generator(path, device)
    if state["kind"] != TRAINING_KIND:
        raise ValueError(f"--record: {path} is not a training checkpoint")
    metrics = evaluate(EvalConfig(checkpoint=path, data_dir=data_dir, classifier=classifier, device=str(device)))
    D_params = sum(v.numel() for k, v in state["discriminator"].items() if "running" not in k and "num_batches" not in k)
    epochs = state["step"] / state["steps_per_epoch"]
    return {**metrics, "config": state["config"], "split": state["split"], "epochs": epochs,
            "seconds": round(state["seconds"], 2), "seconds_per_epoch": round(state["seconds"] / max(epochs, 1e-9), 2),
            "generator_steps": state["step"], "generator_parameters": count_parameters(G),
            "discriminator_parameters": D_params, "hardware": state["hardware"],
            "evaluations": state.get("evaluations", [])}


def record_run(run, name, table, paper, data_dir, device, check_key=None, classifier=None):
    """Add the training run in folder ``run`` to ``table``; returns its row."""
    path = os.path.join(run, "metrics.json")
    if os.path.isfile(path):
        with open(path) as f:
            metrics = json.load(f)
        stopped = None
    elif os.path.isfile(os.path.join(run, "checkpoint.pt")):
        metrics = metrics_of_checkpoint(run, data_dir, device, classifier)
        stopped = metrics["epochs"]
    else:
        raise FileNotFoundError(f"--record: neither metrics.json nor checkpoint.pt in {run}")
    if "inception_score" not in metrics or (check_key and check_key not in metrics.get("config", {})):
        raise ValueError(f"--record: {run} is not an evaluated run of this GAN")
    config = metrics["config"]
    line = row(name, settings_of(config, paper), metrics, metrics["split"], config["seed"]) | {"run": run}
    if stopped is not None:
        line["stopped_at_epoch"] = stopped
        line["note"] = f"stopped by hand at epoch {stopped:g} of {config['epochs']}; evaluated from that checkpoint"
    merge(table, line)
    return line


def format_table(runs):
    head = f"{'configuration':30s} {'IS':>6s} {'FID':>7s} {'classes':>7s} {'KL':>7s} {'s/epoch':>8s}"
    rows = [f"{r['name']:30s} {r['inception_score']:6.3f} {r['fid']:7.2f} {r['classes_covered']:7d} "
            f"{r['kl_uniform']:7.4f} {r['seconds_per_epoch']:8.1f}" for r in sorted(runs, key=lambda r: r["fid"])]
    return "\n".join([head] + rows)


def tune(base, configs, paper, train, path, only=None):
    """Train each (name, changes) of ``configs`` as ``dataclasses.replace(base, **changes)`` into the
    table at ``path``; base.out is the folder of the runs. Returns the table."""
    names = [name for name, _ in configs]
    unknown = sorted(set(only or []) - set(names))
    if unknown:
        raise ValueError(f"unknown configuration {', '.join(unknown)}: choose from {', '.join(names)}")
    table = read_table(path)
    table["note"] = NOTE
    for name, changes in configs:
        if only and name not in only:
            continue
        out = os.path.join(base.out, name)  # an interrupted configuration continues from its checkpoint
        config = dataclasses.replace(base, **changes, out=out, quiet=True,
                                     resume=os.path.isfile(os.path.join(out, "checkpoint.pt")))
        settings = settings_of(config, paper)
        if any(r["name"] == name and r["settings"] == settings and r["split"] == config.split and r["seed"] == config.seed
               for r in table["runs"]):
            print(f"{name}: already in {path}, skipped")
            continue
        print(f"{name}: {settings}", flush=True)
        merge(table, row(name, settings, train(config), config.split, config.seed))
        write_json(path, table)
    return table


def run_tuning(args, base, configs, paper, check_key=None):
    """What a tuning script does with its parsed options: --record one run, or train ``configs``
    from ``base`` set to the ``paper``'s settings (a dict of config fields)."""
    path = table_path(args)
    if args.record:
        table = read_table(path)
        name = args.name or args.record.rstrip("/").split("/")[-1]
        line = record_run(args.record, name, table, paper, args.data_dir, setup_run(args), check_key, args.classifier)
        write_json(path, table)
        print(format_table([r for r in table["runs"] if r["split"] == line["split"]]))
        print(f"added {line['name']} to {path}")
        return table
    base = dataclasses.replace(base, **paper, epochs=args.epochs, split=args.split, data_dir=args.data_dir,
                               eval_every=args.eval_every, classifier=args.classifier, seed=args.seed,
                               device=args.device, threads=args.threads, out=args.out)
    table = tune(base, configs, paper, train, path, only=args.only)
    print(format_table([r for r in table["runs"] if r["split"] == args.split]))
    print(f"wrote {path} ({len(table['runs'])} configurations) and the runs in {args.out}")
    return table
