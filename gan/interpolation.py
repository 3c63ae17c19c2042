"""Interpolation in latent space between two digits of different classes.

The two end points are latent vectors whose images the evaluation classifier assigns to the
two requested digits (the most confident of ``candidates`` random vectors each), so the
classes are established by the classifier, not by eye. Between them, ``steps`` points: the row
holds steps + 2 images, each labelled with the classifier's digit and confidence. Linear
interpolation, or spherical (slerp), which keeps the norm that Gaussian latents concentrate at.
"""
import os

import torch

from gan.classifier import predict

DIGITS = range(10)


def find_endpoints(G, classifier, digit_from, digit_to, candidates=2000, seed=0, device="cpu"):
    """Latents (z_from, z_to): the candidates the classifier most confidently calls each digit."""
    if digit_from == digit_to:
        raise ValueError(f"--from and --to are both {digit_from}: choose two different digits")
    z = torch.randn(candidates, G.latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    with torch.no_grad():
        probs, _ = predict(classifier, G.eval()(z))
    conf, label = probs.max(1)
    chosen = []
    for digit in (digit_from, digit_to):
        mask = label == digit
        if not mask.any():
            raise ValueError(f"none of {candidates} samples of this generator is classified as a {digit}; "
                             f"try more --candidates or other digits")
        chosen.append(z[torch.where(mask, conf, torch.full_like(conf, -1.0)).argmax()])
    return chosen[0], chosen[1]


def slerp(a, b, t):
    """Spherical interpolation between vectors a and b at fraction t (linear if nearly parallel)."""
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(z_a, z_b, steps=7, spherical=False):
    """(steps + 2, latent_dim): z_a, ``steps`` points strictly between, z_b."""
    ts = torch.linspace(0, 1, steps + 2, device=z_a.device)
    if spherical:
        return torch.stack([slerp(z_a, z_b, t) for t in ts])
    return torch.stack([(1 - t) * z_a + t * z_b for t in ts])


def interpolation_row(G, classifier, digit_from, digit_to, steps=7, spherical=False, candidates=2000, seed=0,
                      device="cpu"):
    """Images (steps + 2, 1, 28, 28), predicted digits and confidences along the path."""
    z_a, z_b = find_endpoints(G, classifier, digit_from, digit_to, candidates, seed, device)
    with torch.no_grad():
        images = G.eval()(interpolate(z_a, z_b, steps, spherical)).cpu()
    probs, _ = predict(classifier, images)
    conf, label = probs.max(1)
    return images, label.tolist(), conf.tolist()


def plot_row(images, labels, confidences, path=None, title=None, ax_row=None):
    """The images side by side, each captioned 'digit (confidence)'; saved to ``path`` if given."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = len(images)
    fig = None
    if ax_row is None:
        fig, ax_row = plt.subplots(1, n, figsize=(1.2 * n, 1.7))
    for ax, img, lab, c in zip(ax_row, images, labels, confidences):
        ax.imshow(img[0].numpy(), cmap="gray", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{lab} ({c:.2f})", fontsize=8)
    if fig is not None:
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            fig.savefig(path, dpi=130)
            plt.close(fig)
    return fig


def pair_rows(G, classifier, pairs, steps=7, candidates=2000, seed=0, device="cpu"):
    """For each (digit_from, digit_to) of ``pairs``, the linear and the spherical row between the
    same end points: [{"from", "to", "interpolation", "images", "predicted", "confidence"}, ...]."""
    rows = []
    for a, b in pairs:
        for spherical in (False, True):
            images, labels, confs = interpolation_row(G, classifier, a, b, steps, spherical, candidates, seed, device)
            rows.append({"from": a, "to": b, "interpolation": "spherical" if spherical else "linear",
                         "images": images, "predicted": labels, "confidence": confs})
    return rows


PAIRS = ((0, 6), (1, 7), (3, 8), (4, 9))  # the published pairs figure's digits
PAIRS_TITLE = "Interpolation between digits, {steps} steps, linear and spherical (classifier's digit and confidence)"


def pairs_record(rows, steps, checkpoint):
    """What a pairs figure shows, as JSON: each row's digits, kind, predicted digits and confidences."""
    return {"steps": steps, "checkpoint": checkpoint,
            "rows": [{k: v for k, v in r.items() if k != "images"} for r in rows]}


def plot_pairs(rows, path, title):
    """One row of images per entry of pair_rows, labelled with its digits and kind, each image
    captioned with the classifier's digit and confidence; saved atomically to ``path``."""
    from common.outputs import save_figure, subplots
    n = len(rows[0]["images"])
    fig, axes = subplots(len(rows), n, figsize=(1.25 * n, 1.45 * len(rows) + 0.5), squeeze=False)
    for ax_row, row in zip(axes, rows):
        plot_row(row["images"], row["predicted"], row["confidence"], ax_row=ax_row)
        ax_row[0].set_ylabel(f"{row['from']} to {row['to']}\n{row['interpolation']}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
