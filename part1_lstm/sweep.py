"""Validation accuracy against palindrome length, LSTM against vanilla RNN, several seeds.

    python part1_lstm/sweep.py --threads 1             # the full sweep into runs/sweep (about 40 min on 2 cores)
    python part1_lstm/sweep.py --threads 1 --publish   # ... merged into the committed results and figure
    python part1_lstm/sweep.py --quick                 # smoke test: T = 5, 10, one seed, 200 steps

Every run gets the same settings (SWEEP_BASE) and the same fixed budget of updates, so the only
difference between the curves is the network. Each run trains in --out/MODEL_TT_seedS; the
sweep's records go to --out/palindrome_sweep.json after every run, and --resume continues an
interrupted sweep (skipping finished runs, resuming the one in progress from its checkpoint).
--publish (or --results PATH) then merges the records into the committed results file: a record
replaces only one with identical settings, so a partial sweep never shrinks the file.
"""
import dataclasses
import json
import os

from common.cli import ArgumentParser, UsageError, positive_int, run_main, seed_int, write_json
from common.paths import FIGURES, RESULTS
from common.outputs import add_output_args, prepare_run_folder, results_target, save_figure, subplots
from part1_lstm.training import MODELS, SWEEP_BASE, TrainConfig, checkpoint_path, train

PUBLISHED_RESULTS = os.path.join(RESULTS, "palindrome_sweep.json")
PUBLISHED_FIGURE = os.path.join(FIGURES, "palindrome_accuracy.png")

# Where and how a run ran, not what it computed: left out of a record's identity.
RUN_ONLY = ("out", "device", "threads", "quiet", "checkpoint_every")
SETTINGS = tuple(f.name for f in dataclasses.fields(TrainConfig)
                 if f.name not in RUN_ONLY and f.name != "input_length")


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=positive_int, nargs="+", default=[5, 10, 15, 20, 25, 30, 40],
                   help="palindrome lengths T to sweep (at least 2)")
    p.add_argument("--seeds", type=seed_int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--max_steps", type=positive_int, default=2500, help="updates per run")
    p.add_argument("--quick", action="store_true", help="smoke test: T = 5 and 10, seed 0, 200 steps")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--figure", metavar="PATH", default=None,
                   help="with --publish/--results: the figure of the merged records (default: the committed "
                        "one with --publish, else beside the results file)")
    p.add_argument("--plot_only", action="store_true",
                   help="train nothing: redraw the figure from the records of --publish or --results")
    add_output_args(p, "runs/sweep", PUBLISHED_RESULTS, resume=True)
    return p


def sweep_configs(args, out):
    """One TrainConfig per (T, model, seed), each training into its own folder of ``out``."""
    return [dataclasses.replace(SWEEP_BASE, model=m, input_length=T - 1, seed=s, max_steps=args.max_steps,
                                device=args.device, threads=args.threads, out=os.path.join(out, f"{m}_T{T}_seed{s}"))
            for T in args.lengths for m in args.models for s in args.seeds]


def settings_of(config):
    """What identifies a run's record: its length T and every training setting."""
    values = dataclasses.asdict(config)
    return {"T": config.input_length + 1, **{k: values[k] for k in SETTINGS}}


def settings_key(record):
    """A record's settings as a hashable key. Records written before every setting was stored lack
    some: they were trained with SWEEP_BASE's, and ran their whole budget (steps = max_steps)."""
    base = settings_of(SWEEP_BASE) | {"max_steps": record.get("steps")}
    return tuple((k, record.get(k, base[k])) for k in ["T", *SETTINGS])


def record_of(config, metrics):
    """One results row: model, T, seed, what the run measured, then the rest of its settings."""
    measured = {k: metrics[k] for k in ("val_accuracy", "train_accuracy", "seconds", "steps", "train_size",
                                        "val_size")}
    return {"model": config.model, "T": config.input_length + 1, "seed": config.seed, **measured,
            "hardware": metrics["hardware"], **settings_of(config)}


def merge_records(old, new):
    """``old`` with the records of ``new`` added, each replacing the one with identical settings."""
    merged = {settings_key(r): r for r in old}
    merged.update((settings_key(r), r) for r in new)
    return sorted(merged.values(), key=lambda r: (r["model"], r["T"], r["seed"]))


def load_records(path, missing_ok=True):
    """The records of a results file ([] when it does not exist); ValueError when it is not one."""
    if not os.path.exists(path) and missing_ok:
        return []
    with open(path) as f:
        try:
            records = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not a results file (not JSON: {err})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) and {"model", "T", "seed"} <= set(r)
                                                for r in records):
        raise ValueError(f"{path} is not a results file: expected a list of records with model, T and seed")
    return records


def like(records, config):
    """The records trained with ``config``'s settings, whatever their model, T and seed."""
    key = dict(settings_key(settings_of(config)))
    return [r for r in records if all(v == key[k] for k, v in settings_key(r) if k not in ("T", "model", "seed"))]


def run_sweep(configs, out):
    """Train every configuration not yet recorded in ``out``; return the sweep's records."""
    own = os.path.join(out, "palindrome_sweep.json")
    records = load_records(own)
    write_json(own, records)  # at once: it marks the folder as a sweep's, for --resume
    done = {settings_key(r) for r in records}
    todo = [c for c in configs if settings_key(settings_of(c)) not in done]
    for n, config in enumerate(todo, 1):
        metrics = train(config, resume=os.path.exists(checkpoint_path(config.out)))
        records = merge_records(records, [record_of(config, metrics)])
        write_json(own, records)
        print(f"[{n}/{len(todo)}] {config.model} T={config.input_length + 1} seed={config.seed}: "
              f"val accuracy {metrics['val_accuracy']:.4f} ({metrics['seconds']:.0f} s)", flush=True)
    plot_sweep(like(records, configs[0]), os.path.join(out, "palindrome_accuracy.png"))
    print(f"wrote {own} and palindrome_accuracy.png in {out}")
    return records


def publish(records, path, figure, config):
    """Merge ``records`` into the results file ``path`` and draw ``figure`` from the merged records of
    ``config``'s settings; both written atomically. Returns the merged records."""
    merged = merge_records(load_records(path), records)
    write_json(path, merged)
    plot_sweep(like(merged, config), figure)
    print(f"merged {len(records)} records into {path} ({len(merged)} in all) and drew {figure}")
    return merged


def summarise(records):
    """{model: {T: (mean, min, max)}} of the validation accuracy over seeds."""
    out = {}
    for r in records:
        out.setdefault(r["model"], {}).setdefault(r["T"], []).append(r["val_accuracy"])
    return {m: {T: (sum(v) / len(v), min(v), max(v)) for T, v in sorted(d.items())} for m, d in out.items()}


def plot_sweep(records, path):
    fig, ax = subplots(figsize=(8, 3.8))
    for model, style in (("lstm", "o-"), ("rnn", "s--")):
        stats = summarise(records).get(model)
        if not stats:
            continue
        Ts = list(stats)
        mean = [stats[T][0] for T in Ts]
        lo = [stats[T][1] for T in Ts]
        hi = [stats[T][2] for T in Ts]
        line, = ax.plot(Ts, mean, style, label=f"{model.upper()} (mean over seeds)")
        ax.fill_between(Ts, lo, hi, color=line.get_color(), alpha=0.2, label=f"{model.upper()} min to max")
    ax.axhline(0.1, color="grey", lw=0.8, ls=":", label="chance (10 digits)")
    ax.set_xlabel("palindrome length T")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1.03)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))  # outside: the bands fill the axes
    ax.set_title("Palindrome task: last digit from the first T-1")
    save_figure(fig, path)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.lengths, args.seeds, args.max_steps = [5, 10], [0], 200
    if min(args.lengths) < 2:
        parser.error(f"--lengths: a palindrome of length {min(args.lengths)} leaves no input (T is at least 2)")
    target = results_target(args)
    if args.figure and not target:
        raise UsageError("--figure is the figure of --publish or --results: give one of them")
    figure = args.figure or (PUBLISHED_FIGURE if target == PUBLISHED_RESULTS
                             else os.path.splitext(target or "")[0] + ".png")
    if args.plot_only:
        if not target:
            raise UsageError("--plot_only redraws the figure of --publish or --results: give one of them")
        records = like(load_records(target, missing_ok=False), sweep_configs(args, args.out)[0])
        if not records:
            raise ValueError(f"{target} has no records trained with these settings (--max_steps {args.max_steps})")
        plot_sweep(records, figure)
        print(f"drew {figure} from {len(records)} records of {target}")
        return records
    if target:
        load_records(target)  # a file that cannot be merged into fails now, not after the sweep
    out = prepare_run_folder(parser, args, argv, marker="palindrome_sweep.json")
    configs = sweep_configs(args, out)
    records = run_sweep(configs, out)
    if target:
        publish(records, target, figure, configs[0])
    return records


if __name__ == "__main__":
    run_main(main)
