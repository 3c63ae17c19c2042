"""Seconds per training step of the DCGAN beside the fully connected GAN of Part 2.

    python dcgan/bench.py --data-dir ../shared/data --threads 1                # into runs/bench_dcgan
    python dcgan/bench.py --data-dir ../shared/data --threads 1 --publish    # ... and report/results/dcgan_speed.json

Both GANs take the same steps of the one training loop (gan/trainer.py: one discriminator
update and one generator update on a batch, fused Adam, the data as one in-memory tensor)
with the same batch size, timed by common/bench.py (interleaved rounds, median and spread).
Per-step times give the seconds per epoch of 10,000 and of 60,000 images. The last line is
the median of the per-round ratios DCGAN / MLP GAN.
"""

import os

from common.bench import add_timing_args, describe, ratio_timing, start, time_interleaved, timing_header, write_timings
from common.cli import ArgumentParser, positive_int, run_main
from common.outputs import add_output_args
from common.paths import RESULTS
from dcgan.config import DCGANConfig
from gan.checkpoints import count_parameters
from gan.data import add_data_args, load_mnist_tensor
from gan.mnist import GANConfig, build_trainer

EPOCH_SIZES = (10_000, 60_000)


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(p)
    p.add_argument("--batch_size", type=positive_int, default=64)
    p.add_argument("--ngf", type=positive_int, default=DCGANConfig.ngf, help="DCGAN generator width")
    p.add_argument("--ndf", type=positive_int, default=DCGANConfig.ndf, help="DCGAN discriminator width")
    add_timing_args(p, rounds=10, calls=20, warmup=5)
    add_output_args(p, "runs/bench_dcgan", os.path.join(RESULTS, "dcgan_speed.json"))
    return p


def main(argv=None):
    args, device, out = start(build_parser(), argv, "dcgan_speed.json")
    images, _ = load_mnist_tensor(args.split, args.data_dir)
    configs = {"DCGAN": DCGANConfig(batch_size=args.batch_size, ngf=args.ngf, ndf=args.ndf, out=out),
               "MLP GAN": GANConfig(batch_size=args.batch_size, out=out)}
    trainers = {name: build_trainer(config, images, device) for name, config in configs.items()}
    timings = time_interleaved({name: t.train_step for name, t in trainers.items()}, rounds=args.rounds,
                               calls=args.calls, warmup=args.warmup, device=device)
    ratio = ratio_timing(timings["DCGAN"], timings["MLP GAN"])
    header = timing_header(args, device)
    print(f"{describe(header['environment'])}, batch {args.batch_size}, {args.rounds} rounds of {args.calls} steps")
    dcgan = configs["DCGAN"]
    result = {**header, "batch_size": args.batch_size, "gans": {},
              "dcgan_widths": {"ngf": args.ngf, "ndf": args.ndf, "g_extra": dcgan.g_extra, "d_extra": dcgan.d_extra}}
    for name, t in trainers.items():
        per_epoch = {str(n): round(timings[name].median * (n // args.batch_size), 2) for n in EPOCH_SIZES}
        result["gans"][name] = {"seconds_per_step": timings[name].median, "seconds_per_step_spread": timings[name].as_dict(),
                                "seconds_per_epoch": per_epoch, "generator_parameters": count_parameters(t.G),
                                "discriminator_parameters": count_parameters(t.D)}
        print(f"  {name:8s} {1e3 * timings[name].median:7.1f} ms/step (rounds {1e3 * timings[name].min:.1f}-"
              f"{1e3 * timings[name].max:.1f})  {per_epoch['10000']:7.1f} s per 10,000 images  "
              f"{per_epoch['60000']:7.1f} s per 60,000")
    result["ratio_dcgan_to_mlp"] = ratio.median
    result["ratio_spread"] = ratio.as_dict()
    write_timings(result, out, "dcgan_speed.json", args)
    print(f"DCGAN / MLP GAN time per training step: {ratio.median:.2f}x")
    return result


if __name__ == "__main__":
    run_main(main)
