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

from common.bench import (add_timing_args, ratio_timing, start, time_interleaved, timing_header, training_step,
                          write_timings)
from common.cli import ArgumentParser, run_main
from common.outputs import add_output_args
from common.paths import RESULTS
from part1_lstm.lstm import LSTM

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
