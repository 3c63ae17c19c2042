"""Training-step time against sequence length: the hand-written LSTM against one Transformer layer.

    python part1_lstm/time_vs_length.py --threads 1             # into runs/time_vs_length
    python part1_lstm/time_vs_length.py --threads 1 --publish   # ... and report/results/lstm_time_vs_length.json

The LSTM's T steps run one after the other: each needs h(t-1). A self-attention layer
treats all positions in one set of matrix products. Both models map one-hot digits
(batch, T, 10) to 10 logits with hidden size 128; a step is forward, backward and an RMSProp
update, timed by common.bench.time_interleaved (median and spread over --rounds rounds, the two
models in turn). It also counts the depth of each forward pass's autograd graph (the longest
chain of operations that must run one after another): 8T + 4 for the LSTM's equations, constant
for the Transformer layer. On one or two CPU threads the Transformer's parallel work still runs
largely in sequence, so the times show its arithmetic cost; the depth shows what parallel
hardware can exploit.
"""
import os

import torch
from torch import nn

from common.bench import ratio_timing, time_interleaved
from common.cli import ArgumentParser, positive_int, run_main
from common.paths import RESULTS
from common.bench import add_timing_args, start, timing_header, training_step, write_timings
from part1_lstm.lstm import LSTM
from common.outputs import add_output_args

HIDDEN = 128


class TinyTransformer(nn.Module):
    """Linear embedding + learned positions, one TransformerEncoderLayer (4 heads), last position -> logits."""

    def __init__(self, max_len, input_dim=10, d_model=HIDDEN, output_dim=10):
        super().__init__()
        self.embed = nn.Linear(input_dim, d_model)
        self.pos = nn.Parameter(torch.zeros(max_len, d_model))
        self.layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=2 * d_model, batch_first=True)
        self.out = nn.Linear(d_model, output_dim)

    def forward(self, x):
        h = self.layer(self.embed(x) + self.pos[: x.shape[1]])
        return self.out(h[:, -1])


def graph_depth(output):
    """The longest chain of dependent operations in the autograd graph that produced ``output``:
    how many operations must run one after another, however many processors there are."""
    depth = {}
    stack = [(output.grad_fn, False)]
    while stack:
        node, expanded = stack.pop()
        if node is None or (node in depth and not expanded):
            continue
        children = [n for n, _ in node.next_functions if n is not None]
        if expanded:
            depth[node] = 1 + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return depth[output.grad_fn]


def plain_lstm_logits(model, x):
    """The LSTM's logits by the equations as written (one autograd node per operation)."""
    return model.forward_plain(x)[-1] @ model.W_ph.T + model.b_p


def measure_length(T, args, device):
    """One row: both models' ms per training step at length T, their ratio, and their graph depths."""
    x = nn.functional.one_hot(torch.randint(0, 10, (args.batch, T)), 10).float().to(device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    models = {"lstm": LSTM(T, 10, HIDDEN, 10, forget_bias=1.0).to(device),
              "transformer": TinyTransformer(T).to(device)}
    timings = time_interleaved({k: training_step(m, x, y) for k, m in models.items()},
                               rounds=args.rounds, calls=args.calls, warmup=args.warmup, device=device)
    return {"T": T, "lstm_ms": timings["lstm"].median * 1e3, "transformer_ms": timings["transformer"].median * 1e3,
            "lstm_timing_ms": timings["lstm"].as_dict(1e3),
            "transformer_timing_ms": timings["transformer"].as_dict(1e3),
            "lstm_over_transformer": ratio_timing(timings["lstm"], timings["transformer"]).as_dict(),
            "lstm_sequential_steps": T, "transformer_sequential_steps": 1,
            "lstm_graph_depth": graph_depth(plain_lstm_logits(models["lstm"], x)),
            "transformer_graph_depth": graph_depth(models["transformer"](x))}


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=positive_int, nargs="+", default=[5, 10, 20, 40, 80, 160])
    p.add_argument("--batch", type=positive_int, default=32)
    add_timing_args(p, rounds=10, calls=3, warmup=5)
    add_output_args(p, "runs/time_vs_length", os.path.join(RESULTS, "lstm_time_vs_length.json"))
    return p


def main(argv=None):
    args, device, out = start(build_parser(), argv, "lstm_time_vs_length.json")
    rows = []
    for T in args.lengths:
        rows.append(measure_length(T, args, device))
        r = rows[-1]
        print(f"T={T:4d}: LSTM {r['lstm_ms']:7.2f} ms/step, Transformer layer {r['transformer_ms']:7.2f} ms/step; "
              f"dependent operations: LSTM {r['lstm_graph_depth']}, Transformer {r['transformer_graph_depth']}")
    write_timings({"batch": args.batch, "hidden": HIDDEN} | timing_header(args, device) | {"rows": rows},
                  out, "lstm_time_vs_length.json", args)
    return rows


if __name__ == "__main__":
    run_main(main)
