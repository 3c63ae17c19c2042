"""The one timing harness every benchmark of the repository goes through.

    timings = time_interleaved({"ours": step_a, "reference": step_b}, rounds=15, calls=20, device=device)
    timings["ours"].median / timings["reference"].median

Each variant is a callable doing one unit of work (a training step, say). After ``warmup``
untimed calls of each, every round times ``calls`` consecutive calls of every variant, the
variants taken in turn (and in a rotated order from round to round), so that a change in the
machine's speed hits all of them alike. The device is synchronised around every timed block
(CUDA and MPS run asynchronously). A result is the seconds per call of each round: its median,
the quartiles and the extremes are what benchmarks report, with :func:`environment` (threads,
processor, torch version) beside them.
"""
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch


def synchronize(device):
    """Wait for the device's queued work (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class Timing:
    """Seconds per call over the rounds: median, quartiles, extremes, and every round's value."""
    median: float
    q1: float
    q3: float
    min: float
    max: float
    rounds: list

    @classmethod
    def of(cls, values):
        q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
        return cls(statistics.median(values), q1, q3, min(values), max(values), list(values))

    def as_dict(self, scale=1.0):
        """The figures times ``scale`` (1e3 for milliseconds)."""
        return {k: ([x * scale for x in v] if k == "rounds" else v * scale) for k, v in asdict(self).items()}


def time_interleaved(variants, rounds=10, calls=10, warmup=3, device="cpu"):
    """{name: Timing} of each callable in ``variants``, in seconds per call (see the module's docstring)."""
    if rounds < 1 or calls < 1:
        raise ValueError("rounds and calls must be at least 1")
    names = list(variants)
    for name in names:
        for _ in range(warmup):
            variants[name]()
    synchronize(device)
    per_round = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = variants[name]
            synchronize(device)
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            synchronize(device)
            per_round[name].append((time.perf_counter() - start) / calls)
    return {name: Timing.of(per_round[name]) for name in names}


def ratio_timing(a, b):
    """The ratio a/b of two Timings, round by round: its median and extremes (same rounds, side by side)."""
    ratios = [x / y for x, y in zip(a.rounds, b.rounds)]
    return Timing.of(ratios)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device="cpu"):
    """Where a timing was taken: device, processor, cores, torch threads, torch version, load average."""
    device = torch.device(device)
    env = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    if hasattr(os, "getloadavg"):
        env["load_average_1min"] = round(os.getloadavg()[0], 2)
    return env


def describe(env):
    """One line for a results table: 'CPU model, N cores, T torch threads' (or the GPU)."""
    where = env.get("gpu") or f"{env['cpu']}, {env['cores']} cores"
    return f"{where}, {env['threads']} torch thread{'s' if env['threads'] != 1 else ''}, torch {env['torch']}"


def add_timing_args(parser, calls, rounds, results_example):
    """The options every GAN benchmark takes: --calls per round, --rounds, --results PATH."""
    from common.cli import positive_int
    parser.add_argument("--calls", "--chunk", type=positive_int, default=calls,
                        help="calls (training steps) of each variant per timed round")
    parser.add_argument("--rounds", type=positive_int, default=rounds, help="timed rounds per variant")
    parser.add_argument("--results", default=None, help=f"also write the JSON here (e.g. {results_example})")
    return parser


def write_results(result, out, name, results=None):
    """Write a benchmark's JSON to OUT/NAME (a run's folder), and to --results PATH when given;
    returns the paths. A committed timing changes only through the explicit --results."""
    from common.cli import write_json
    paths = [write_json(os.path.join(out, name), result)] + ([write_json(results, result)] if results else [])
    print(f"wrote {' and '.join(paths)}")
    return paths
