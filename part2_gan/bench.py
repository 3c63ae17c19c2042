"""Images per second of a full GAN training step: this repository's pipeline against the common one.

    python part2_gan/bench.py --split test --data-dir ../shared/data

Both pipelines train the same networks (model.py) with the same objective and batch size;
a step is one discriminator update and one generator update, data loading included.
  reference: torchvision-style per-item ToTensor + Normalize through a DataLoader (PIL
             images, num_workers=0, as in the common GAN tutorials), a generator step that
             lets D's weight gradients be computed, and the default (for-each) Adam;
  ours:      the dataset as one tensor in [-1, 1] with batches drawn by index, and
             GANTrainer's steps (one G forward reused, D frozen during G's step, fused Adam).
They run in alternating chunks inside one process, so that a change in machine speed hits
both. The last line is the ratio of the median throughputs.
"""
import os
import statistics
import sys
import time

import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, add_common_args, hardware_description, positive_int, run_main, setup_run,
                        write_json)
from part2_gan.data import SPLITS, InMemoryBatches, load_mnist, to_unit_range
from part2_gan.model import Discriminator, Generator
from part2_gan.objectives import NonSaturatingGAN
from part2_gan.trainer import GANTrainer


class PILMnist(torch.utils.data.Dataset):
    """MNIST as torchvision serves it: a PIL image per item, then the transform."""

    def __init__(self, images, transform):
        self.images, self.transform = images, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.images[i].numpy(), mode="L")), 0


def reference_loader(images, batch_size):
    from torchvision import transforms
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    return torch.utils.data.DataLoader(PILMnist(images, tf), batch_size=batch_size, shuffle=True, drop_last=True)


def reference_steps(images, batch_size, latent_dim, device):
    """An endless iterator of the reference pipeline's training steps."""
    G, D = Generator(latent_dim).to(device), Discriminator().to(device)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    while True:
        for real, _ in reference_loader(images, batch_size):
            real = real.to(device)
            ones = torch.ones(real.shape[0], 1, device=device)
            zeros = torch.zeros_like(ones)
            fake = G(torch.randn(real.shape[0], latent_dim, device=device))
            opt_G.zero_grad()
            F.binary_cross_entropy_with_logits(D(fake), ones).backward()
            opt_G.step()
            opt_D.zero_grad()
            d_loss = (F.binary_cross_entropy_with_logits(D(real), ones)
                      + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
            d_loss.backward()
            opt_D.step()
            yield real.shape[0]


def training_steps(G, D, images, batch_size, device, init=None):
    """An endless iterator over GANTrainer's training steps (D update, then G update) on ``images``
    (a float tensor in [-1, 1]) held in memory; yields batch sizes. Also timed by dcgan/bench.py."""
    G, D = G.to(device), D.to(device)
    if init is not None:
        G.apply(init)
        D.apply(init)
    opt = dict(lr=2e-4, betas=(0.5, 0.999), fused=device.type in ("cpu", "cuda"))
    trainer = GANTrainer(G, D, NonSaturatingGAN(), torch.optim.Adam(G.parameters(), **opt),
                         torch.optim.Adam(D.parameters(), **opt), None, 1, "unused", G.latent_dim, device=device)
    data = InMemoryBatches(images, batch_size, device=device)
    G.train()
    D.train()
    while True:
        for real in data:
            _, _, fake = trainer.discriminator_step(real, keep_fake=True)
            trainer.generator_step(fake)
            yield real.shape[0]


def our_steps(images, batch_size, latent_dim, device):
    return training_steps(Generator(latent_dim), Discriminator(), to_unit_range(images), batch_size, device)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=SPLITS, default="train", help="MNIST split to load")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--batch_size", type=positive_int, default=64)
    p.add_argument("--chunk", type=positive_int, default=40, help="steps per timed chunk")
    p.add_argument("--rounds", type=positive_int, default=8, help="chunks per pipeline")
    add_common_args(p, out="runs/bench_gan")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    images, _ = load_mnist(args.split, args.data_dir)
    pipelines = {"reference (DataLoader, per-item transforms)": reference_steps(images, args.batch_size, 100, device),
                 "ours (in-memory tensor, GANTrainer steps)": our_steps(images, args.batch_size, 100, device)}
    for it in pipelines.values():  # warm-up: first batches, allocator, kernels
        for _ in range(5):
            next(it)
    rates = {name: [] for name in pipelines}
    for _ in range(args.rounds):
        for name, it in pipelines.items():
            sync(device)
            t0 = time.perf_counter()
            n = sum(next(it) for _ in range(args.chunk))
            sync(device)
            rates[name].append(n / (time.perf_counter() - t0))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    ref, ours = medians.values()
    print(f"device: {device} ({hardware_description(device)}), batch {args.batch_size}")
    for name, rate in medians.items():
        print(f"  {name:46s} {rate:8.0f} images/s")
    epoch_60k = 60_000 / ours
    print(f"  one epoch of 60,000 images at our rate: {epoch_60k:.1f} s")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "gan_bench.json")
    write_json(path, {"device": str(device), "hardware": hardware_description(device), "torch": torch.__version__,
                      "batch_size": args.batch_size, "images_per_second": medians, "speedup": ours / ref,
                      "seconds_per_60k_epoch": epoch_60k, "chunks": args.rounds, "steps_per_chunk": args.chunk})
    print(f"wrote {path}")
    print(f"speedup over reference pipeline: {ours / ref:.2f}")
    return ours / ref


if __name__ == "__main__":
    run_main(main)
