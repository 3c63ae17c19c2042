"""GAN objectives: what the discriminator and the generator minimise.

An objective is plugged into the one training loop (trainer.py). It defines
  discriminator_loss(D, real, fake) -> (loss, stats)   fake is detached from G
  generator_loss(D, fake) -> (loss, stats)             fake carries G's graph
  after_discriminator_step(D)                          e.g. WGAN's weight clipping
  n_critic                                             discriminator steps per generator step
stats are floats to log: 'd_real' and 'd_fake' are the discriminator's mean output on real
and generated samples (a probability for the standard GAN, a critic value for WGANs).

- NonSaturatingGAN (Goodfellow et al., 2014), with one-sided label smoothing and
  differentiable augmentation as options.
- WGANClip (Arjovsky et al., 2017): critic f minimises E[f(G(z))] - E[f(x)], its weights
  clipped to [-c, c] after every step; G minimises -E[f(G(z))]. n_critic = 5.
- WGANGP (Gulrajani et al., 2017): the same losses, the clipping replaced by the penalty
  lambda * E[(||grad f(x_hat)||_2 - 1)^2] at x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1].
- UnrolledGAN (Metz et al., 2016): G's loss is measured at the discriminator D_K reached by
  K differentiable updates of D from its current weights, theta_{k+1} = theta_k -
  step(grad_theta L_D(theta_k)) (step: the real D's optimiser rule), and G is differentiated
  through those updates; the real D takes its single ordinary step.
- MADGAN (Ghosh et al., 2018): k generators and a discriminator with k + 1 classes
  (0..k-1: made by generator j, k: real); D minimises the cross-entropy of those labels,
  each generator minimises -log D_real(G_j(z)).
- PacGAN (Lin et al., 2018): the GAN's losses, with a discriminator that judges m samples at
  once, concatenated (``pack``): a packed D sees whether a set of samples is diverse, so a
  generator that puts them all on one mode is caught. The packing lives in the discriminator
  (its first layer takes m samples); the objective is the non-saturating GAN's.
"""
import torch
from torch.func import functional_call
from torch.nn import functional as F


class Objective:
    n_critic = 1
    name = "objective"

    def discriminator_loss(self, D, real, fake):
        raise NotImplementedError

    def generator_loss(self, D, fake):
        raise NotImplementedError

    def after_discriminator_step(self, D):
        pass


class NonSaturatingGAN(Objective):
    """min_G max_D E[log D(x)] + E[log(1 - D(G(z)))], with the non-saturating generator loss.

    D minimises -E[log D(x)] - E[log(1 - D(G(z)))] (binary cross-entropy, real = 1, fake = 0).
    G minimises -E[log D(G(z))] instead of E[log(1 - D(G(z)))]: both push D(G(z)) up, but the
    latter's gradient vanishes when D rejects the fakes confidently, which is exactly the
    situation early in training (Goodfellow et al., 2014, section 3).

    real_label < 1 is one-sided label smoothing (Salimans et al., 2016): D's target for real
    images becomes e.g. 0.9, which keeps D from growing over-confident on a small training set.
    augment, if given, transforms every batch D sees, real and generated, in both steps
    (differentiable augmentation, augment.py).
    """
    name = "gan"

    def __init__(self, real_label=1.0, augment=None):
        self.real_label = real_label
        self.augment = augment or (lambda x: x)

    def discriminator_loss(self, D, real, fake):
        real_logits, fake_logits = D(self.augment(real)), D(self.augment(fake))
        loss = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        return loss, {"d_real": torch.sigmoid(real_logits).mean().item(),
                      "d_fake": torch.sigmoid(fake_logits).mean().item()}

    def generator_loss(self, D, fake):
        logits = D(self.augment(fake))
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        return loss, {}


class WGANClip(Objective):
    """Wasserstein GAN with weight clipping; D is a critic returning unbounded scores (batch, 1)."""
    name = "wgan"

    def __init__(self, clip=0.01, n_critic=5):
        self.clip, self.n_critic = clip, n_critic

    def discriminator_loss(self, D, real, fake):
        real_score, fake_score = D(real).mean(), D(fake).mean()
        # -(E f(x) - E f(G(z))): minus the critic's estimate of the Wasserstein-1 distance
        return fake_score - real_score, {"d_real": real_score.item(), "d_fake": fake_score.item()}

    def generator_loss(self, D, fake):
        return -D(fake).mean(), {}

    @torch.no_grad()
    def after_discriminator_step(self, D):
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)


def gradient_penalty(D, real, fake, weight=10.0, eps=None):
    """lambda * mean_i (||grad_x D(x_hat_i)||_2 - 1)^2, x_hat_i = eps_i real_i + (1 - eps_i) fake_i.

    Inputs: real, fake (batch, ...); eps (batch,) in [0, 1] or None (drawn uniformly).
    The graph is kept (create_graph) so that the penalty can be minimised with respect to D.
    """
    if eps is None:
        eps = torch.rand(real.shape[0], device=real.device)
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class WGANGP(WGANClip):
    """WGAN with the gradient penalty instead of clipping (lambda = 10, n_critic = 5)."""
    name = "wgan_gp"

    def __init__(self, penalty=10.0, n_critic=5):
        self.penalty, self.n_critic = penalty, n_critic

    def discriminator_loss(self, D, real, fake):
        loss, stats = super().discriminator_loss(D, real, fake)
        gp = gradient_penalty(D, real, fake, self.penalty)
        stats["gradient_penalty"] = gp.item()
        return loss + gp, stats

    def after_discriminator_step(self, D):
        pass


def _gan_d_loss(real_logits, fake_logits):
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


class UnrolledGAN(NonSaturatingGAN):
    """The GAN whose generator looks K discriminator updates ahead.

    Inputs: unroll_steps K; real_sampler, a callable n -> real batch (n, ...) for the K
    unrolled steps; opt_D, the real discriminator's optimiser, whose update rule (Adam or SGD)
    and current state the unrolled steps reproduce without touching it.
    ``generator_form``: 'non_saturating' (G minimises -log D_K(G(z)), as the vanilla GAN here
    does) or 'minimax' (the paper's V: G minimises -L_D(theta_K), whose log(1 - D_K(G(z)))
    term saturates while D rejects the samples; on the ring it never left the start).
    """
    name = "unrolled"

    def __init__(self, unroll_steps, real_sampler, opt_D, generator_form="non_saturating"):
        if generator_form not in ("minimax", "non_saturating"):
            raise ValueError(f"unknown generator_form {generator_form!r}")
        plain_sgd = isinstance(opt_D, torch.optim.SGD) and not opt_D.defaults.get("momentum")
        if not (isinstance(opt_D, torch.optim.Adam) or plain_sgd):
            raise ValueError(f"the unroll reproduces Adam or plain SGD, not {type(opt_D).__name__}")
        super().__init__()
        self.unroll_steps, self.real_sampler, self.opt_D = unroll_steps, real_sampler, opt_D
        self.generator_form = generator_form

    def unrolled_parameters(self, D, fake):
        """theta_K: K functional updates of D's parameters on fresh real batches and ``fake``.

        ``fake`` carries G's graph and every update keeps its graph (create_graph), so theta_K
        is a differentiable function of G's samples; D's own parameters and the optimiser's
        state are read, never written. All parameters live in one flat vector during the
        unroll, so that an update is a handful of operations, not a handful per tensor.
        """
        names = [n for n, _ in D.named_parameters()]
        shapes = [p.shape for p in D.parameters()]
        sizes = [p.numel() for p in D.parameters()]
        theta = torch.cat([p.detach().reshape(-1) for p in D.parameters()]).requires_grad_(True)
        buffers = dict(D.named_buffers())
        group = self.opt_D.param_groups[0]
        adam = isinstance(self.opt_D, torch.optim.Adam)
        if adam:
            beta1, beta2 = group["betas"]
            states = [self.opt_D.state.get(p, {}) for p in D.parameters()]
            if all("exp_avg" in s for s in states):
                m = torch.cat([s["exp_avg"].detach().reshape(-1) for s in states])
                v = torch.cat([s["exp_avg_sq"].detach().reshape(-1) for s in states])
                t = float(states[0]["step"])
            else:  # before D's first step
                m, v, t = torch.zeros_like(theta), torch.zeros_like(theta), 0.0

        def weights(flat):
            return {**{n: x.view(shape) for n, x, shape in zip(names, flat.split(sizes), shapes)}, **buffers}

        for _ in range(self.unroll_steps):
            real = self.real_sampler(fake.shape[0])
            logits = functional_call(D, weights(theta), (torch.cat([real, fake]),))  # one pass for both halves
            loss = _gan_d_loss(logits[:len(real)], logits[len(real):])
            (grad,) = torch.autograd.grad(loss, theta, create_graph=True)
            if adam:
                t += 1
                m = beta1 * m + (1 - beta1) * grad
                v = beta2 * v + (1 - beta2) * grad * grad
                # clamp: sqrt'(0) is infinite, and 0 * inf would turn G's gradient into NaN
                denom = (v / (1 - beta2 ** t)).clamp_min(1e-30).sqrt() + group["eps"]
                theta = theta - group["lr"] / (1 - beta1 ** t) * m / denom
            else:
                theta = theta - group["lr"] * grad
        return weights(theta)

    def generator_loss(self, D, fake):
        if self.unroll_steps == 0:
            return super().generator_loss(D, fake)
        weights = self.unrolled_parameters(D, fake)
        fake_logits = functional_call(D, weights, (fake,))
        if self.generator_form == "minimax":
            # G's samples move theta_K, so the real-data term of V depends on G too
            real_logits = functional_call(D, weights, (self.real_sampler(fake.shape[0]),))
            loss = -_gan_d_loss(real_logits, fake_logits)
        else:
            loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return loss, {"d_fake_unrolled": torch.sigmoid(fake_logits).mean().item()}


class MADGAN(Objective):
    """Multi-agent diverse GAN: D names the maker of every sample, among k generators and 'real'.

    D returns (batch, k + 1) logits: class j < k means 'made by generator j', class k 'real'.
    The fake batch comes from a MultiGenerator, whose row i was made by generator
    generator_labels(batch, k)[i].
    """
    name = "madgan"

    def __init__(self, k):
        self.k = k

    def fake_targets(self, n, device=None):
        """D's target classes for a MultiGenerator batch of n: class j for a sample of generator j."""
        return generator_labels(n, self.k, device)

    def real_targets(self, n, device=None):
        return torch.full((n,), self.k, dtype=torch.long, device=device)

    def discriminator_loss(self, D, real, fake):
        real_logits, fake_logits = D(real), D(fake)
        loss = (F.cross_entropy(real_logits, self.real_targets(len(real), real.device))
                + F.cross_entropy(fake_logits, self.fake_targets(len(fake), fake.device)))
        return loss, {"d_real": real_logits.softmax(1)[:, self.k].mean().item(),
                      "d_fake": fake_logits.softmax(1)[:, self.k].mean().item()}

    def generator_loss(self, D, fake):
        # every generator wants its samples called real: minimise -log D_real(G_j(z))
        logits = D(fake)
        return F.cross_entropy(logits, self.real_targets(len(fake), fake.device)), {}


def pack(x, m):
    """PacGAN's packing: x (n, d, ...) -> (n / m, m d, ...), samples m i, ..., m i + m - 1 side by side
    along dimension 1 (features of points, channels of images). n must be a multiple of m."""
    if x.shape[0] % m:
        raise ValueError(f"a batch of {x.shape[0]} cannot be packed in groups of {m}: use a multiple of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def split_sizes(n, k):
    """How a batch of n is split among MAD-GAN's k generators: contiguous chunks, the first n % k one larger."""
    return [n // k + (1 if j < n % k else 0) for j in range(k)]


def generator_labels(n, k, device=None):
    """(n,) long: which generator made each row of a k-generator batch of n (0, 0, ..., 1, 1, ..., k-1)."""
    return torch.repeat_interleave(torch.arange(k, device=device), torch.tensor(split_sizes(n, k), device=device))
