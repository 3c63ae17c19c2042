"""Small fully connected networks for the 2D mixtures, MAD-GAN's bank of k generators, and the
bank of k image generators MAD-GAN needs on Stacked MNIST.

Generator:      z (latent_dim) -> [Linear(hidden), (BatchNorm), ReLU] x layers -> Linear(2), times scale
Discriminator:  x (2), divided by scale -> [Linear(hidden), ReLU] x layers -> Linear(outputs) logits
                (outputs = 1 for the GANs and the WGAN critics, k + 1 for MAD-GAN; no sigmoid);
                maxout = p: maxout layers of p pieces instead of Linear + ReLU;
                with pack = m (PacGAN) it judges m points at once: input 2 m, one logit per m points
MultiGenerator: k generators of the shape above, run as one batched matrix product per layer.

Our setting: G 32 -> 128 -> 128 -> 2, D 2 -> 128 x 3 -> 1, with ``scale`` the extent of the data
(2 for the ring, 4 for the grid): the networks work in units where the data lie in about [-1, 1],
as Metz et al. (2016) scale D's input down by 4. The papers' setting (PacGAN, Lin et al. 2018, and
VEEGAN, Srivastava et al. 2017): G 2 -> [400, BatchNorm, ReLU] x 4 -> 2, D 2 -> [maxout 200 of 5
pieces] x 3 -> 1, scale 1, weights from N(0, 0.02) and biases 0 (``init_normal_``).
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
    maxout layers of k pieces instead (PacGAN's and VEEGAN's 2D discriminator). A Linear followed
    by BatchNorm has no bias: BatchNorm's shift would cancel it."""
    parts, width = [], n_in
    for _ in range(layers):
        if maxout > 1:
            parts.append(Maxout(width, hidden, maxout))
        else:
            parts += ([nn.Linear(width, hidden, bias=not batch_norm)] + ([nn.BatchNorm1d(hidden)] if batch_norm else [])
                      + [nn.ReLU()])
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

    def __init__(self, k, n_in, n_out, bias=True):
        super().__init__()
        layers = [nn.Linear(n_in, n_out) for _ in range(k)]  # nn.Linear's initialisation, per generator
        self.weight = nn.Parameter(torch.stack([l.weight.detach().t() for l in layers]))  # (k, n_in, n_out)
        if bias:
            self.bias = nn.Parameter(torch.stack([l.bias.detach() for l in layers]).unsqueeze(1))  # (k, 1, n_out)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return torch.bmm(x, self.weight) if self.bias is None else torch.baddbmm(self.bias, x, self.weight)


def grouped_batch_norm(norm, h):
    """BatchNorm of each group apart: h (k, m, n) normalised over its m rows per group and feature,
    by one BatchNorm1d(k n) on the (m, k n) view (feature j of group g is column g n + j)."""
    k, m, n = h.shape
    return norm(h.transpose(0, 1).reshape(m, k * n)).view(m, k, n).transpose(0, 1)


class MultiGenerator(nn.Module):
    """MAD-GAN's k generators (Ghosh et al., 2018), each an MLP like Generator2D with its own weights
    (and, with batch_norm, its own BatchNorm statistics over its own rows).

    Inputs: z (batch, latent_dim). Outputs: points (batch, 2). The batch is split into k
    contiguous chunks (split_sizes): rows of chunk j are made by generator j, so that
    generator_labels(batch, k) names the maker of every row. With batch_norm in training mode the
    batch must be a multiple of k (every generator's statistics over the same number of rows).
    """

    def __init__(self, k=8, latent_dim=32, hidden=128, layers=2, scale=1.0, batch_norm=False):
        super().__init__()
        self.k, self.latent_dim, self.scale, self.batch_norm = k, latent_dim, scale, batch_norm
        widths = [latent_dim] + [hidden] * layers + [2]
        last = len(widths) - 2
        self.layers = nn.ModuleList(GroupedLinear(k, a, b, bias=not batch_norm or i == last)
                                    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
        if batch_norm:
            self.norms = nn.ModuleList(nn.BatchNorm1d(k * hidden) for _ in range(layers))

    def forward(self, z):
        sizes = split_sizes(z.shape[0], self.k)
        m = max(sizes)
        equal = all(s == m for s in sizes)
        if self.batch_norm and self.training and not equal:
            raise ValueError(f"a batch of {z.shape[0]} cannot be split evenly among {self.k} generators with "
                             f"BatchNorm: use a multiple of {self.k}")
        if equal:
            h = z.view(self.k, m, -1)
        else:  # pad the shorter chunks to one length, so that one batched product serves all k
            h = z.new_zeros(self.k, m, z.shape[1])
            for j, chunk in enumerate(torch.split(z, sizes)):
                h[j, :len(chunk)] = chunk
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.relu(grouped_batch_norm(self.norms[i], h) if self.batch_norm else h)
        h = self.scale * h
        if equal:
            return h.reshape(-1, 2)
        return torch.cat([h[j, :s] for j, s in enumerate(sizes)])

    def single(self, j, z):
        """Generator j alone on z (batch, latent_dim) -> (batch, 2) (with BatchNorm: in eval mode only)."""
        if self.batch_norm and self.training:
            raise ValueError("MultiGenerator.single uses BatchNorm's running statistics: call it in eval mode")
        h = z
        for i, layer in enumerate(self.layers):
            h = h @ layer.weight[j] + (layer.bias[j] if layer.bias is not None else 0)
            if i < len(self.layers) - 1:
                if self.batch_norm:
                    norm, n = self.norms[i], h.shape[1]
                    part = slice(j * n, (j + 1) * n)
                    h = nn.functional.batch_norm(h, norm.running_mean[part], norm.running_var[part],
                                                 norm.weight[part], norm.bias[part], False, 0.0, norm.eps)
                h = torch.relu(h)
        return self.scale * h


@torch.no_grad()
def init_normal_(module, std):
    """The papers' initialisation (PacGAN's code, after ALI): every weight matrix of a Linear, a
    GroupedLinear or a convolution from N(0, std), every bias 0; BatchNorm keeps scale 1, shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, GroupedLinear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class ImageGeneratorBank(nn.Module):
    """MAD-GAN's k image generators: k 3-channel DCGAN generators (dcgan/model.py), each with its own
    weights and BatchNorm. Inputs: z (batch, latent_dim). Outputs: images (batch, channels, 28, 28),
    the rows of chunk j (split_sizes, as MultiGenerator) made by generator j."""

    def __init__(self, k=8, latent_dim=100, ngf=64, extra=0, channels=3):
        super().__init__()
        from dcgan.model import Generator
        self.k, self.latent_dim = k, latent_dim
        self.generators = nn.ModuleList(Generator(latent_dim, ngf, extra, channels) for _ in range(k))

    def forward(self, z):
        return torch.cat([g(chunk) for g, chunk in zip(self.generators, torch.split(z, split_sizes(len(z), self.k)))
                          if len(chunk)])
