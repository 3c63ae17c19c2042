"""Images per second of a full GAN training step: this repository's pipeline against the common one.

    python part2_gan/bench.py --data-dir ../shared/data                                   # into runs/bench_gan
    python part2_gan/bench.py --data-dir ../shared/data --publish    # ... and report/results/gan_bench.json

Both pipelines train the same networks (model.py) with the same objective and batch size;
a step is one discriminator update and one generator update, data loading included.
  reference: torchvision-style per-item ToTensor + Normalize through a DataLoader (PIL
             images, num_workers=0, as in the common GAN tutorials), a generator step that
             lets D's weight gradients be computed, and the default (for-each) Adam;
  ours:      the dataset as one tensor in [-1, 1] with batches drawn by index, and
             GANTrainer's steps (one G forward reused, D frozen during G's step, fused Adam).
They are timed by common/bench.py (interleaved rounds, median and spread). The last line is
the median of the per-round ratios of the throughputs.
"""

import torch
from torch.nn import functional as F

import os

from common.bench import add_timing_args, describe, ratio_timing, start, time_interleaved, timing_header, write_timings
from common.cli import ArgumentParser, positive_int, run_main
from common.outputs import add_output_args
from common.paths import RESULTS
from gan.data import add_data_args, load_mnist, to_unit_range
from gan.mnist import GANConfig, build_trainer
from part2_gan.model import Discriminator, Generator


class PILMnist(torch.utils.data.Dataset):
    """MNIST as torchvision serves it: a PIL image per item, then the transform."""

    def __init__(self, images, transform):
        self.images, self.transform = images, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.images[i].numpy(), mode="L")), 0


def reference_steps(images, batch_size, latent_dim, device):
    """An endless iterator of the reference pipeline's training steps."""
    from torchvision import transforms
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    loader = torch.utils.data.DataLoader(PILMnist(images, tf), batch_size=batch_size, shuffle=True, drop_last=True)
    G, D = Generator(latent_dim).to(device), Discriminator().to(device)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    while True:
        for real, _ in loader:
            real = real.to(device)
            ones = torch.ones(real.shape[0], 1, device=device)
            fake = G(torch.randn(real.shape[0], latent_dim, device=device))
            opt_G.zero_grad()
            F.binary_cross_entropy_with_logits(D(fake), ones).backward()
            opt_G.step()
            opt_D.zero_grad()
            (F.binary_cross_entropy_with_logits(D(real), ones)
             + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros_like(ones))).backward()
            opt_D.step()
            yield


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(p)
    p.add_argument("--batch_size", type=positive_int, default=64)
    add_timing_args(p, rounds=20, calls=40, warmup=5)
    add_output_args(p, "runs/bench_gan", os.path.join(RESULTS, "gan_bench.json"))
    return p


def main(argv=None):
    args, device, out = start(build_parser(), argv, "gan_bench.json")
    images, _ = load_mnist(args.split, args.data_dir)
    if not 2 <= args.batch_size <= len(images):
        raise ValueError(f"--batch_size {args.batch_size} must lie between 2 and the {len(images)} images of the split")
    reference = reference_steps(images, args.batch_size, 100, device)
    ours = build_trainer(GANConfig(batch_size=args.batch_size, out=out), to_unit_range(images), device)
    timings = time_interleaved({"reference": lambda: next(reference), "ours": ours.train_step},
                               rounds=args.rounds, calls=args.calls, warmup=args.warmup, device=device)
    speedup = ratio_timing(timings["reference"], timings["ours"])
    header = timing_header(args, device)
    rate = {name: args.batch_size / t.median for name, t in timings.items()}
    epoch_60k = 60_000 / rate["ours"]
    print(f"{describe(header['environment'])}, batch {args.batch_size}, {args.rounds} rounds of {args.calls} steps")
    for name, t in timings.items():
        print(f"  {name:10s} {rate[name]:8.0f} images/s  ({1e3 * t.median:.2f} ms/step, rounds "
              f"{1e3 * t.min:.2f}-{1e3 * t.max:.2f})")
    print(f"  one epoch of 60,000 images at our rate: {epoch_60k:.1f} s")
    result = {**header, "batch_size": args.batch_size, "images_per_second": rate, "ms_per_step": {n: t.as_dict(1e3) for n, t in timings.items()},
              "speedup": speedup.median, "speedup_spread": speedup.as_dict(), "seconds_per_60k_epoch": epoch_60k}
    write_timings(result, out, "gan_bench.json", args)
    print(f"speedup over reference pipeline: {speedup.median:.2f}")
    return result


if __name__ == "__main__":
    run_main(main)
