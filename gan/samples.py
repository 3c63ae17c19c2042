"""Pictures of a GAN run: sample grids from fixed noise, and the loss curves."""
import os

import torch


def save_grid(images, path, nrow=5):
    """Save images in [-1, 1], (N, 1, H, W), as one PNG grid of ``nrow`` columns."""
    from torchvision.utils import save_image
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_image(images.detach().cpu(), path, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    return path


class ImageSnapshots:
    """A trainer callback: a 5 x 5 grid of the run's generator on the fixed noise, in eval mode,
    saved as samples_<tag>.png with tag start (step 0), halfway, end, or step_N."""

    def __init__(self, out):
        self.out = out

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
        return save_grid(images, os.path.join(self.out, f"samples_{self.tag(trainer)}.png"))


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
    ax1.plot(x, moving_average(history["d_loss"], window), label="D loss")
    ax1.plot(x, moving_average(history["g_loss"], window), label="G loss")
    ax1.set_xlabel("generator step")
    ax1.set_ylabel("loss" + (f" (moving average of {window})" if window > 1 else ""))
    ax1.legend()
    ax2.plot(x, moving_average(history["d_real"], window), label="D(x), real")
    ax2.plot(x, moving_average(history["d_fake"], window), label="D(G(z)), generated")
    ax2.set_xlabel("generator step")
    ax2.set_ylabel("mean discriminator output")
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    if path is None:
        return fig
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
