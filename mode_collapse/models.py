"""Small fully connected networks for the 2D mixtures, and MAD-GAN's bank of k generators.

Generator:      z (latent_dim) -> [Linear(hidden), ReLU] x layers -> Linear(2), times scale
Discriminator:  x (2), divided by scale -> [Linear(hidden), ReLU] x layers -> Linear(outputs) logits
                (outputs = 1 for the GANs and the WGAN critics, k + 1 for MAD-GAN; no sigmoid);
                with pack = m (PacGAN) it judges m points at once: input 2 m, one logit per m points
MultiGenerator: k generators of the shape above, run as one batched matrix product per layer.

``scale`` is the extent of the data (2 for the ring, 4 for the grid): the networks work in
units where the data lie in about [-1, 1], as Metz et al. (2016) scale D's input down by 4.
"""
import torch
from torch import nn

from gan.objectives import pack, split_sizes


class Maxout(nn.Module):
    """The maximum of ``pieces`` linear units per output (Goodfellow et al., 2013):
    (batch, n_in) -> (batch, n_out), max_j (W_j x + b_j)."""

    def __init__(self, n_in, n_out, pieces):
        super().__init__()
        self.pieces, self.linear = pieces, nn.Linear(n_in, n_out * pieces)

    def forward(self, x):
        return self.linear(x).view(x.shape[0], -1, self.pieces).max(dim=2).values


def mlp(n_in, hidden, layers, n_out, batch_norm=False, maxout=1):
    """[Linear, (BatchNorm), ReLU] x layers -> Linear; with maxout = k > 1 the hidden layers are
    maxout layers of k pieces instead (PacGAN's and VEEGAN's 2D discriminator)."""
    parts, width = [], n_in
    for _ in range(layers):
        if maxout > 1:
            parts.append(Maxout(width, hidden, maxout))
        else:
            parts += [nn.Linear(width, hidden)] + ([nn.BatchNorm1d(hidden)] if batch_norm else []) + [nn.ReLU()]
        width = hidden
    parts.append(nn.Linear(width, n_out))
    return nn.Sequential(*parts)


class Generator2D(nn.Module):
    """Inputs: z (batch, latent_dim). Outputs: points (batch, 2), scale * net(z); batch_norm: after
    every hidden layer (the PacGAN/VEEGAN generator)."""

    def __init__(self, latent_dim=32, hidden=128, layers=2, scale=1.0, batch_norm=False):
        super().__init__()
        self.latent_dim, self.scale = latent_dim, scale
        self.net = mlp(latent_dim, hidden, layers, 2, batch_norm=batch_norm)

    def forward(self, z):
        return self.scale * self.net(z)


class Discriminator2D(nn.Module):
    """Inputs: points (batch, 2). Outputs: logits (batch / pack, outputs); a critic value when outputs = 1
    for WGANs. pack = m > 1: PacGAN's discriminator, one logit per m consecutive points."""

    def __init__(self, hidden=128, layers=3, outputs=1, scale=1.0, pack=1, maxout=1):
        super().__init__()
        self.scale, self.pack = scale, pack
        self.net = mlp(2 * pack, hidden, layers, outputs, maxout=maxout)

    def forward(self, x):
        return self.net(pack(x / self.scale, self.pack))


class GroupedLinear(nn.Module):
    """k independent linear layers applied to k groups at once: (k, m, n_in) -> (k, m, n_out)."""

    def __init__(self, k, n_in, n_out):
        super().__init__()
        layers = [nn.Linear(n_in, n_out) for _ in range(k)]  # nn.Linear's initialisation, per generator
        self.weight = nn.Parameter(torch.stack([l.weight.detach().t() for l in layers]))  # (k, n_in, n_out)
        self.bias = nn.Parameter(torch.stack([l.bias.detach() for l in layers]).unsqueeze(1))  # (k, 1, n_out)

    def forward(self, x):
        return torch.baddbmm(self.bias, x, self.weight)


class MultiGenerator(nn.Module):
    """MAD-GAN's k generators (Ghosh et al., 2018), each an MLP like Generator2D with its own weights.

    Inputs: z (batch, latent_dim). Outputs: points (batch, 2). The batch is split into k
    contiguous chunks (split_sizes): rows of chunk j are made by generator j, so that
    generator_labels(batch, k) names the maker of every row.
    """

    def __init__(self, k=8, latent_dim=32, hidden=128, layers=2, scale=1.0):
        super().__init__()
        self.k, self.latent_dim, self.scale = k, latent_dim, scale
        widths = [latent_dim] + [hidden] * layers + [2]
        self.layers = nn.ModuleList(GroupedLinear(k, a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, z):
        sizes = split_sizes(z.shape[0], self.k)
        m = max(sizes)
        if all(s == m for s in sizes):
            h = z.view(self.k, m, -1)
        else:  # pad the shorter chunks to one length, so that one batched product serves all k
            h = z.new_zeros(self.k, m, z.shape[1])
            for j, chunk in enumerate(torch.split(z, sizes)):
                h[j, :len(chunk)] = chunk
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        h = self.scale * h
        if all(s == m for s in sizes):
            return h.reshape(-1, 2)
        return torch.cat([h[j, :s] for j, s in enumerate(sizes)])

    def single(self, j, z):
        """Generator j alone on z (batch, latent_dim) -> (batch, 2)."""
        h = z
        for i, layer in enumerate(self.layers):
            h = torch.addmm(layer.bias[j], h, layer.weight[j])
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        return self.scale * h
