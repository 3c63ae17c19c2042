"""Figures of the mode-collapse experiments: the 2D sweep (samples over the true modes during training, modes
captured over training) and Stacked MNIST (mode histograms, modes over training)."""
import os

import torch

from mode_collapse.stacked_mnist import N_MODES

LABELS = {"gan": "GAN", "wgan": "WGAN (clip)", "wgan_gp": "WGAN-GP", "unrolled5": "Unrolled GAN, K=5",
          "unrolled10": "Unrolled GAN, K=10", "madgan": "MAD-GAN", "pac2": "PacGAN, m=2", "pac4": "PacGAN, m=4"}


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def load_snapshots(path):
    """The snapshots.pt of a run of train_2d: steps (S,), samples (S, n, 2), means (K, 2), std."""
    return torch.load(path, weights_only=True)


def plot_samples(rows, path, columns=6, title=None):
    """One row per method: its samples (of the fixed noise) at ``columns`` steps, over the true modes.

    rows: list of (label, snapshots dict, curve) with curve the per-snapshot metrics of the run.
    """
    plt = _plt()
    fig, axes = plt.subplots(len(rows), columns, figsize=(2.0 * columns, 2.05 * len(rows)), squeeze=False)
    for r, (label, snaps, curve) in enumerate(rows):
        steps, samples, means = snaps["steps"], snaps["samples"], snaps["means"]
        picks = torch.linspace(0, len(steps) - 1, columns).round().long().tolist()
        lim = float(means.abs().max()) * 1.5
        for c, i in enumerate(picks):
            ax = axes[r, c]
            x = samples[i].clamp(-2 * lim, 2 * lim)
            ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.25, color="tab:blue", rasterized=True)
            ax.scatter(means[:, 0], means[:, 1], s=12, marker="x", color="tab:red", linewidths=0.8)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            point = curve[i]
            ax.set_title(f"step {int(steps[i])}: {point['modes']} modes, {100 * point['high_quality']:.0f}% HQ",
                         fontsize=7)
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()) if title else None)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_curves(records, path, methods, datasets=("ring", "grid"), n_modes=None):
    """Modes captured (left) and high-quality fraction (right) against generator steps, mean over seeds."""
    plt = _plt()
    fig, axes = plt.subplots(len(datasets), 2, figsize=(10, 3.4 * len(datasets)), squeeze=False)
    # one colour per method in every panel, also where a method has no runs on one of the mixtures
    colours = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    legend = {}
    for d, dataset in enumerate(datasets):
        for method in methods:
            runs = [r for r in records if r["method"] == method and r["dataset"] == dataset]
            if not runs:
                continue
            steps = [p["step"] for p in runs[0]["curve"]]
            for col, key, scale in ((0, "modes", 1), (1, "high_quality", 100)):
                values = torch.tensor([[p[key] * scale for p in r["curve"]] for r in runs], dtype=torch.float64)
                line, = axes[d, col].plot(steps, values.mean(0), marker=".", color=colours[method],
                                          label=LABELS.get(method, method))
                legend.setdefault(method, line)
                if len(runs) > 1:
                    axes[d, col].fill_between(steps, values.min(0).values, values.max(0).values,
                                              color=colours[method], alpha=0.15)
        total = (n_modes or {}).get(dataset)
        axes[d, 0].set_ylabel(f"{dataset}: modes captured" + (f" (of {total})" if total else ""))
        if total:
            axes[d, 0].axhline(total, color="grey", lw=0.8, ls=":")
        axes[d, 1].set_ylabel(f"{dataset}: high-quality samples (%)")
        for ax in axes[d]:
            ax.set_xlabel("generator step")
    handles = [legend[m] for m in methods if m in legend]
    labels = [h.get_label() for h in handles]
    fig.suptitle("Mode collapse over training (mean over seeds, band: min to max)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    fig.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(0.83, 0.95))  # outside the axes
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- Stacked MNIST
def plot_mode_histograms(runs, path, labels):
    """One panel per method (its first seed): samples per mode, modes in the order 100 d1 + 10 d2 + d3."""
    from common.outputs import save_figure
    plt = _plt()
    firsts = {}
    for r in runs:
        firsts.setdefault(r["method"], r)
    fig, axes = plt.subplots(len(firsts), 1, figsize=(10, 1.6 * len(firsts) + 0.6), squeeze=False, sharex=True)
    for ax, (method, r) in zip(axes[:, 0], firsts.items()):
        ax.stairs(r["histogram"], range(N_MODES + 1), fill=True, color="tab:blue")  # a bar per mode, drawn as one
        ax.axhline(r["n_samples"] / N_MODES, color="tab:red", lw=0.8, ls="--")
        ax.set_ylabel("samples", fontsize=8)
        ax.set_title(f"{labels.get(method, method)}, seed {r['seed']}: {r['modes']} of {N_MODES} modes, "
                     f"KL {r['kl']:.2f}", fontsize=9)
    axes[-1, 0].set_xlabel("mode (100 x first digit + 10 x second + third); dashed: uniform")
    return save_figure(fig, path, dpi=110)


def plot_modes_over_training(runs, path, labels, order):
    """Modes captured (left) and KL to uniform (right) against generator steps, mean and range over seeds."""
    from common.outputs import save_figure
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for method in [m for m in order if any(r["method"] == m for r in runs)]:
        mine = [r for r in runs if r["method"] == method]
        steps = [p["step"] for p in mine[0]["curve"]]
        mine = [r for r in mine if [p["step"] for p in r["curve"]] == steps]
        for ax, key in zip(axes, ("modes", "kl")):
            values = torch.tensor([[p[key] for p in r["curve"]] for r in mine], dtype=torch.float64)
            line, = ax.plot(steps, values.mean(0), marker="o", label=f"{labels.get(method, method)} ({len(mine)} "
                            f"seed{'s' if len(mine) > 1 else ''})")
            if len(mine) > 1:
                ax.fill_between(steps, values.min(0).values, values.max(0).values, color=line.get_color(), alpha=0.15)
    axes[0].axhline(N_MODES, color="grey", lw=0.8, ls=":")
    axes[0].set_ylabel(f"modes captured (of {N_MODES})")
    axes[1].set_ylabel("KL(mode histogram || uniform)")
    for ax in axes:
        ax.set_xlabel("generator step")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Stacked MNIST: modes over training ({runs[0]['n_samples']:,} samples at each point; band: range "
                 "over seeds)", fontsize=10)
    return save_figure(fig, path, dpi=110)
