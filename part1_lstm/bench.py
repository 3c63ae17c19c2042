"""Time one training step of the hand-written LSTM against torch.nn.LSTM.

    python part1_lstm/bench.py --threads 1              # into runs/bench_lstm
    python part1_lstm/bench.py --threads 1 --publish    # ... and report/results/lstm_bench.json

A step is forward, cross-entropy on the last step, backward and an RMSProp update. The
reference is torch.nn.LSTM (oneDNN kernels on CPU) followed by the same output layer. The
timing is common.bench.time_interleaved's: after --warmup untimed steps, --rounds rounds of
--calls steps of each model in turn. The JSON keeps, per model, the median seconds per step and
its spread over the rounds (quartiles, extremes), the same for the time ratio (round by round),
and the environment (threads, processor, torch). Sizes: batch 128, T 20, hidden 128, one-hot
inputs (the sweep's setting), and the train.py defaults (T-1 = 4 steps of one digit value).
The last line is the median ratio for the first configuration.
"""
import os

import torch
from torch import nn

from common.bench import environment, ratio_timing, time_interleaved
from common.cli import (ArgumentParser, hardware_description, non_negative_int, positive_int, run_main, seed_int,
                        setup_run, write_json)
from common.paths import RESULTS
from part1_lstm.lstm import LSTM
from common.outputs import add_output_args, destinations, prepare_run_folder

CONFIGS = [  # (name, batch, input steps, input_dim, hidden)
    ("batch 128, T 20, hidden 128, one-hot", 128, 20, 10, 128),
    ("train.py defaults: batch 128, T-1 4, hidden 128, digit values", 128, 4, 1, 128),
]
FAST, PLAIN, REFERENCE = "hand-written (fast path)", "hand-written (plain loop)", "torch.nn.LSTM"


class ReferenceLSTM(nn.Module):
    """torch.nn.LSTM and the output layer p = W_ph h(T) + b_p."""

    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        return self.out(self.lstm(x)[0][:, -1])


def training_step(model, x, y):
    """A callable doing one RMSProp training step of ``model`` on x (B, T, I), y (B,)."""
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step


def add_timing_args(parser, rounds, calls, warmup):
    """The options every Part 1 benchmark shares: the harness's rounds, calls and warm-up, and the run's."""
    parser.add_argument("--rounds", type=positive_int, default=rounds,
                        help="timed rounds of each model; the median and spread are over them")
    parser.add_argument("--calls", type=positive_int, default=calls, help="training steps of each model per round")
    parser.add_argument("--warmup", type=non_negative_int, default=warmup, help="untimed steps of each model first")
    parser.add_argument("--seed", type=seed_int, default=0, help="random seed")
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (default: torch's choice, one per core)")
    return parser


def timing_header(args, device):
    """How and where a timing file was measured."""
    return {"device": str(device), "hardware": hardware_description(device), "torch": torch.__version__,
            "environment": environment(device), "rounds": args.rounds, "calls": args.calls, "warmup": args.warmup,
            "reps": args.rounds * args.calls}


def write_timings(payload, out, name, args):
    """Write the JSON into the run folder (as ``name``), and to --results / --publish when given."""
    for path in destinations(out, name, args):
        write_json(path, payload)
        print(f"wrote {path}")


def bench_config(name, batch, steps, input_dim, hidden, args, device):
    """The timings of one configuration: each model's ms per step, and its ratios to torch.nn.LSTM."""
    x = torch.randn(batch, steps, input_dim, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    models = {FAST: LSTM(steps, input_dim, hidden, 10), PLAIN: LSTM(steps, input_dim, hidden, 10, fast=False),
              REFERENCE: ReferenceLSTM(input_dim, hidden, 10)}
    timings = time_interleaved({k: training_step(m.to(device), x, y) for k, m in models.items()},
                               rounds=args.rounds, calls=args.calls, warmup=args.warmup, device=device)
    ratio_fast, ratio_plain = (ratio_timing(timings[k], timings[REFERENCE]) for k in (FAST, PLAIN))
    return {"config": name, "batch": batch, "input_steps": steps, "input_dim": input_dim, "hidden": hidden,
            "ms_per_step": {k: t.median * 1e3 for k, t in timings.items()},
            "timing_ms": {k: t.as_dict(1e3) for k, t in timings.items()},
            "ratio_fast": ratio_fast.median, "ratio_plain": ratio_plain.median,
            "ratio_fast_timing": ratio_fast.as_dict(), "ratio_plain_timing": ratio_plain.as_dict()}


def print_config(r):
    print(f"\n{r['config']}")
    for model, t in r["timing_ms"].items():
        print(f"  {model:28s} {t['median']:8.2f} ms/step (quartiles {t['q1']:.2f} to {t['q3']:.2f})")
    q = r["ratio_fast_timing"]
    print(f"  fast/nn.LSTM {r['ratio_fast']:.2f} (quartiles {q['q1']:.2f} to {q['q3']:.2f}), "
          f"plain/nn.LSTM {r['ratio_plain']:.2f}")


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_timing_args(p, rounds=20, calls=10, warmup=20)
    add_output_args(p, "runs/bench_lstm", os.path.join(RESULTS, "lstm_bench.json"))
    return p


def start(parser, argv, marker):
    """Parse a benchmark's command line: (args, device, run folder), --threads and --seed applied."""
    args = parser.parse_args(argv)
    device = setup_run(args)  # a bad --device fails before prepare_run_folder makes a folder
    return args, device, prepare_run_folder(parser, args, argv, marker=marker)


def main(argv=None):
    args, device, out = start(build_parser(), argv, "lstm_bench.json")
    header = timing_header(args, device)
    print(f"device: {device} ({header['hardware']}), torch {torch.__version__}")
    results = [bench_config(*c, args, device) for c in CONFIGS]
    for r in results:
        print_config(r)
    write_timings(header | {"results": results}, out, "lstm_bench.json", args)
    print(f"hand-written/nn.LSTM time ratio: {results[0]['ratio_fast']:.2f}")
    return results


if __name__ == "__main__":
    run_main(main)
