"""Validation accuracy against palindrome length, LSTM against vanilla RNN, several seeds.

    python part1_lstm/sweep.py            # the committed results (about 40 min on 2 CPU cores)
    python part1_lstm/sweep.py --quick    # smoke test: T = 5, 10, one seed, 200 steps

Every run gets the same settings and the same fixed budget of updates, so the only
difference between the curves is the network. Records are written after every run, and a
rerun skips the (model, T, seed) already in the results file unless --fresh is given.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import ArgumentParser, positive_int, run_main, write_json
from part1_lstm import train as train_script

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_JSON = os.path.join(REPO, "report", "results", "palindrome_sweep.json")
DEFAULT_FIGURE = os.path.join(REPO, "report", "figures", "palindrome_accuracy.png")
# Settings every run shares; documented in the README and the report.
SWEEP_SETTINGS = ["--one_hot", "--num_hidden", "128", "--batch_size", "128", "--learning_rate", "1e-3",
                  "--forget_bias", "1.0", "--max_norm", "10", "--data_size", "100000",
                  "--max_epoch", "1000"]


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=positive_int, nargs="+", default=[5, 10, 15, 20, 25, 30, 40],
                   help="palindrome lengths T to sweep (at least 2)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="+", choices=train_script.MODELS, default=list(train_script.MODELS))
    p.add_argument("--max_steps", type=positive_int, default=2500, help="updates per run")
    p.add_argument("--json", default=None, help=f"results file (default {os.path.relpath(DEFAULT_JSON, REPO)})")
    p.add_argument("--figure", default=None, help=f"figure (default: beside --json, else {os.path.relpath(DEFAULT_FIGURE, REPO)})")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: T = 5 and 10, seed 0, 200 steps, results under --out")
    p.add_argument("--fresh", action="store_true", help="rerun runs already in the results file")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--out", default="runs/sweep", help="folder for each run's metrics and checkpoint")
    return p


def record_of(model, T, seed, metrics):
    cfg = metrics["config"]
    return {"model": model, "T": T, "seed": seed, "val_accuracy": metrics["val_accuracy"],
            "train_accuracy": metrics["train_accuracy"], "seconds": metrics["seconds"],
            "steps": metrics["steps"], "train_size": metrics["train_size"], "val_size": metrics["val_size"],
            "one_hot": cfg["one_hot"], "learning_rate": cfg["learning_rate"], "forget_bias": cfg["forget_bias"],
            "num_hidden": cfg["num_hidden"], "batch_size": cfg["batch_size"], "hardware": metrics["hardware"]}


def run_sweep(args):
    if args.quick:
        args.lengths, args.seeds, args.max_steps = [5, 10], [0], 200
    json_path = args.json or (os.path.join(args.out, "palindrome_sweep.json") if args.quick else DEFAULT_JSON)
    if args.figure:
        fig_path = args.figure
    elif args.json:  # a results file of its own gets its figure beside it, not the committed sweep's
        fig_path = os.path.splitext(args.json)[0] + ".png"
    else:
        fig_path = os.path.join(args.out, "palindrome_accuracy.png") if args.quick else DEFAULT_FIGURE
    records = []
    if os.path.exists(json_path) and not args.fresh:
        with open(json_path) as f:
            records = [r for r in json.load(f) if r.get("steps") == args.max_steps]
    done = {(r["model"], r["T"], r["seed"]) for r in records}
    jobs = [(m, T, s) for T in args.lengths for m in args.models for s in args.seeds if (m, T, s) not in done]
    for n, (model, T, seed) in enumerate(jobs, 1):
        run_args = train_script.build_parser().parse_args(
            SWEEP_SETTINGS + ["--model", model, "--input_length", str(T - 1), "--seed", str(seed),
                              "--max_steps", str(args.max_steps), "--device", args.device, "--quiet",
                              *(["--threads", str(args.threads)] if args.threads else []),
                              "--out", os.path.join(args.out, f"{model}_T{T}_seed{seed}")])
        metrics = train_script.train(run_args)
        records.append(record_of(model, T, seed, metrics))
        records.sort(key=lambda r: (r["model"], r["T"], r["seed"]))
        write_json(json_path, records)
        print(f"[{n}/{len(jobs)}] {model} T={T} seed={seed}: val accuracy {metrics['val_accuracy']:.4f} "
              f"({metrics['seconds']:.0f} s)", flush=True)
    plot_sweep(records, fig_path)
    print(f"wrote {json_path} and {fig_path}")
    return records


def summarise(records):
    """{model: {T: (mean, min, max)}} of the validation accuracy over seeds."""
    out = {}
    for r in records:
        out.setdefault(r["model"], {}).setdefault(r["T"], []).append(r["val_accuracy"])
    return {m: {T: (sum(v) / len(v), min(v), max(v)) for T, v in sorted(d.items())} for m, d in out.items()}


def plot_sweep(records, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.8))
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
    ax.legend(fontsize=8, loc="center left")
    ax.set_title("Palindrome task: last digit from the first T-1")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return run_sweep(args)


if __name__ == "__main__":
    run_main(main)
