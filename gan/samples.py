"""Pictures of a GAN run: sample grids from fixed noise, and the loss curves."""
import os

import torch


def save_grid(images, path, nrow=5, title=None, scale=4):
    """Save images in [-1, 1], (N, C, H, W) with C = 1 or 3, as one titled PNG grid of ``nrow``
    columns, each pixel drawn as a ``scale`` x ``scale`` block (a 5 x 5 grid of MNIST digits is
    608 pixels wide at the default scale: large enough to read), atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    from common.outputs import save_figure
    grid = make_grid(images.detach().cpu().float(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=2,
                     pad_value=1.0).permute(1, 2, 0).numpy()
    dpi = 100
    height, width = grid.shape[0] * scale / dpi, grid.shape[1] * scale / dpi
    fig = plt.figure(figsize=(width, height + (0.35 if title else 0)), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, height / (height + (0.35 if title else 0))))
    ax.imshow(grid, interpolation="nearest")
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10, y=0.995, va="top")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return save_figure(fig, path, dpi=dpi, tight=False)


class ImageSnapshots:
    """A trainer callback: a 5 x 5 grid of the run's generator on the fixed noise, in eval mode,
    saved as samples_<tag>.png with tag start (step 0), halfway, end, or step_N."""

    def __init__(self, out, desc="GAN"):
        self.out, self.desc = out, desc

    def tag(self, trainer):
        if trainer.step == 0:
            return "start"
        if trainer.step == trainer.steps:
            return "end"
        return "halfway" if trainer.step == trainer.steps // 2 else f"step_{trainer.step:07d}"

    @torch.no_grad()
    def __call__(self, trainer):
        G = trainer.generator
        was_training = G.training
        images = G.eval()(trainer.fixed_noise)
        G.train(was_training)
        tag = self.tag(trainer)
        epochs = getattr(trainer, "steps_per_epoch", None)
        when = f"step {trainer.step:,}" + (f" (epoch {round(trainer.step / epochs, 1):g})" if epochs else "")
        title = f"{self.desc}, {tag if not tag.startswith('step_') else 'during training'}: {when}"
        return save_grid(images, os.path.join(self.out, f"samples_{tag}.png"), title=title)


def moving_average(values, window):
    if len(values) < window or window <= 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    kernel = torch.ones(window, dtype=torch.float64) / window
    return torch.nn.functional.conv1d(t.view(1, 1, -1), kernel.view(1, 1, -1)).view(-1).tolist()


def plot_history(history, path=None, title="GAN training", window=None):
    """Losses of D and G, and D's mean output on real and generated data, against the step.

    Saved to ``path`` when given (and the figure closed); otherwise the figure is returned.
    """
    import matplotlib
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps = history["step"]
    if not steps:
        return None
    window = window or max(1, len(steps) // 200)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    x = steps[window - 1:] if window > 1 and len(steps) >= window else steps
    for ax, keys in ((ax1, (("d_loss", "D loss"), ("g_loss", "G loss"))),
                     (ax2, (("d_real", "D(x), real images"), ("d_fake", "D(G(z)), generated")))):
        for key, label in keys:
            if window > 1:  # every step, faint, under its moving average
                raw, = ax.plot(steps, history[key], lw=0.4, alpha=0.25)
                ax.plot(x, moving_average(history[key], window), color=raw.get_color(), label=label)
            else:
                ax.plot(steps, history[key], label=label)
        ax.set_xlabel("generator step")
        ax.legend(fontsize=8)
    ax1.set_ylabel("loss")
    outputs = [v for v in history["d_real"] + history["d_fake"] if v == v]
    if all(0 <= v <= 1 for v in outputs):  # probabilities: the whole range, from 0
        ax2.set_ylabel("mean discriminator output")
        ax2.axhline(0.5, color="grey", lw=0.6, ls=":")
        ax2.set_ylim(0, 1)
    else:  # a critic's unbounded scores (WGAN)
        ax2.set_ylabel("mean critic score")
    fig.suptitle(title + (f"\nfaint: every step; solid: moving average over {window} steps" if window > 1 else ""),
                 fontsize=10)
    fig.tight_layout()
    if path is None:
        return fig
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
