"""Seconds per training epoch of the DCGAN beside the fully connected GAN of Part 2.

    python dcgan/bench.py --split test --data-dir ../shared/data --threads 1

Both GANs take the same steps of the one training loop (part2_gan/trainer.py: one
discriminator update and one generator update on a batch, fused Adam, the data as one
in-memory tensor) with the same batch size. They run in alternating chunks inside one
process, so that a change in machine load hits both. Per-step times (medians over the
chunks) give the seconds per epoch of 10,000 images (the test split) and of 60,000 (the
train split). The machine's load average is recorded beside them: on a shared CPU the
absolute times vary with it, the ratio much less. The last line is the ratio DCGAN / MLP GAN.
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, add_common_args, hardware_description, positive_int, run_main, setup_run,
                        write_json)
from dcgan import model as dcgan_model
from dcgan import train
from part2_gan import model as mlp_model
from part2_gan.bench import sync, training_steps
from part2_gan.checkpoints import count_parameters
from part2_gan.data import SPLITS, load_mnist_tensor

EPOCH_SIZES = (10_000, 60_000)


def time_interleaved(pipelines, chunk, rounds, device, warmup=5):
    """Median seconds per step of each pipeline, timed in alternating chunks of ``chunk`` steps."""
    for it in pipelines.values():  # first batches, allocator, kernel selection
        for _ in range(warmup):
            next(it)
    times = {name: [] for name in pipelines}
    for _ in range(rounds):
        for name, it in pipelines.items():
            sync(device)
            t0 = time.perf_counter()
            for _ in range(chunk):
                next(it)
            sync(device)
            times[name].append((time.perf_counter() - t0) / chunk)
    return {name: statistics.median(t) for name, t in times.items()}


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=SPLITS, default="train", help="MNIST split to draw batches from")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--batch_size", type=positive_int, default=64)
    p.add_argument("--ngf", type=positive_int, default=train.NGF, help="DCGAN generator width")
    p.add_argument("--ndf", type=positive_int, default=train.NDF, help="DCGAN discriminator width")
    p.add_argument("--chunk", type=positive_int, default=20, help="steps per timed chunk")
    p.add_argument("--rounds", type=positive_int, default=6, help="chunks per GAN")
    p.add_argument("--results", default=None, help="also write the JSON here (e.g. report/results/dcgan_speed.json)")
    add_common_args(p, out="runs/bench_dcgan")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    images, _ = load_mnist_tensor(args.split, args.data_dir)
    nets = {"DCGAN": (dcgan_model.Generator(100, args.ngf), dcgan_model.Discriminator(args.ndf),
                      dcgan_model.weights_init),
            "MLP GAN": (mlp_model.Generator(100), mlp_model.Discriminator(), None)}
    pipelines = {name: training_steps(G, D, images, args.batch_size, device, init) for name, (G, D, init) in nets.items()}
    load_before = os.getloadavg()[0]
    step = time_interleaved(pipelines, args.chunk, args.rounds, device)
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"device: {device} ({hardware_description(device)}), batch {args.batch_size}, "
          f"{args.rounds} chunks of {args.chunk} steps each, interleaved; load average {load[0]} -> {load[1]} "
          f"on {os.cpu_count()} CPUs")
    result = {"device": str(device), "hardware": hardware_description(device), "torch": torch.__version__,
              "batch_size": args.batch_size, "chunks": args.rounds, "steps_per_chunk": args.chunk,
              "cpus": os.cpu_count(), "load_average_1min_before_after": load,
              "dcgan_widths": {"ngf": args.ngf, "ndf": args.ndf}, "gans": {}}
    for name, (G, D, _) in nets.items():
        per_epoch = {str(n): round(step[name] * (n // args.batch_size), 2) for n in EPOCH_SIZES}
        result["gans"][name] = {"seconds_per_step": step[name], "seconds_per_epoch": per_epoch,
                                "generator_parameters": count_parameters(G),
                                "discriminator_parameters": count_parameters(D)}
        print(f"  {name:8s} {1000 * step[name]:7.1f} ms/step   {per_epoch['10000']:7.1f} s per epoch of 10,000 images"
              f"   {per_epoch['60000']:7.1f} s per epoch of 60,000")
    ratio = step["DCGAN"] / step["MLP GAN"]
    result["ratio_dcgan_to_mlp"] = ratio
    os.makedirs(args.out, exist_ok=True)
    paths = [os.path.join(args.out, "dcgan_speed.json")] + ([args.results] if args.results else [])
    for path in paths:
        write_json(path, result)
    print(f"wrote {' and '.join(paths)}")
    print(f"DCGAN / MLP GAN time per training step: {ratio:.2f}x")
    return result


if __name__ == "__main__":
    run_main(main)
