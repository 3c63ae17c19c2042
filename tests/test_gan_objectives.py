"""The objectives (gan/objectives.py): the non-saturating GAN's remedies for a small training set
(one-sided label smoothing, differentiable augmentation: gan/augment.py), WGAN's clipping and
gradient penalty, the Unrolled GAN's look-ahead, MAD-GAN's labels."""
import copy

import pytest
import torch

from gan.augment import DiffAugment, cutout, translate
from gan.objectives import (MADGAN, WGANGP, NonSaturatingGAN, UnrolledGAN, WGANClip, generator_labels,
                            gradient_penalty, pack, split_sizes)
from mode_collapse.mixtures import ring
from mode_collapse.models import Discriminator2D, Generator2D, MultiGenerator


def test_one_sided_label_smoothing_loss():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return x.new_full((x.shape[0], 1), 2.0)
    real, fake = torch.zeros(3, 1, 28, 28), torch.zeros(3, 1, 28, 28)
    loss, _ = NonSaturatingGAN(real_label=0.9).discriminator_loss(Constant(), real, fake)
    s = torch.sigmoid(torch.tensor(2.0))
    expected = -(0.9 * torch.log(s) + 0.1 * torch.log(1 - s)) - torch.log(1 - s)
    assert torch.allclose(loss, expected)


def test_translation_shifts_whole_pixels_and_is_differentiable():
    x = -torch.ones(64, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0  # an 8 x 4 bright block
    x.requires_grad_(True)
    out = translate(x, max_shift=2)
    assert out.shape == x.shape
    for img in out.detach():
        rows, cols = torch.where(img[0] > 0)
        assert len(rows) == 32, "nothing lost: the block stays inside"
        assert -2 <= rows.min().item() - 10 <= 2 and -2 <= cols.min().item() - 12 <= 2
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 3, "shifted, not deformed"
    out.sum().backward()
    # d(sum of output)/d(input pixel) is 1 where the pixel stays in view and 0 where shifted out
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}
    kept = x.grad.sum(dim=(1, 2, 3))
    assert (kept >= 26 * 26).all() and (kept <= 28 * 28).all()
    assert (x.grad[:, :, 10:18, 12:16] == 1).all(), "the block is always in view"


def test_cutout_blanks_a_square_and_policies():
    x = torch.ones(16, 1, 28, 28)
    out = cutout(x, size=8)
    blanked = (out == -1).sum(dim=(1, 2, 3))
    assert (blanked > 0).all() and (blanked <= 81).all()
    assert DiffAugment("translation,cutout")(x).shape == x.shape
    with pytest.raises(ValueError, match="unknown augmentation"):
        DiffAugment("rotate")


def test_augmentation_reaches_both_steps():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x.new_zeros(x.shape[0], 1)
    flip = lambda x: -x  # noqa: E731
    obj = NonSaturatingGAN(augment=flip)
    real, fake = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    obj.discriminator_loss(Recorder(), real, fake)
    obj.generator_loss(Recorder(), fake)
    assert torch.equal(seen[0], -real) and torch.equal(seen[1], -fake) and torch.equal(seen[2], -fake)


def _linear_critic(w, b=0.5):
    D = torch.nn.Linear(len(w), 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([w]))
        D.bias.fill_(b)
    return D


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = w.x + b has gradient w everywhere: the penalty is lambda (||w|| - 1)^2 whatever eps is
    D = _linear_critic([3.0, 4.0])
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert gradient_penalty(D, real, fake, weight=10.0).item() == pytest.approx(10 * (5 - 1) ** 2)
    assert gradient_penalty(D, real, fake, 2.0, eps=torch.zeros(16)).item() == pytest.approx(2 * 16)
    D1 = _linear_critic([0.6, 0.8])  # unit norm: no penalty
    assert gradient_penalty(D1, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_reaches_the_critic_weights():
    D = _linear_critic([3.0, 4.0])
    gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2)).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(D.weight.grad, torch.tensor([[20 * 4 * 0.6, 20 * 4 * 0.8]]))


def test_wgan_gp_loss_is_critic_gap_plus_penalty():
    D = _linear_critic([3.0, 4.0], b=0.0)
    real, fake = torch.ones(4, 2), torch.zeros(4, 2)
    loss, stats = WGANGP(penalty=10.0).discriminator_loss(D, real, fake)
    assert loss.item() == pytest.approx(0.0 - 7.0 + 160.0)
    assert stats["d_real"] == pytest.approx(7.0) and stats["d_fake"] == pytest.approx(0.0)


def test_weight_clipping():
    D = Discriminator2D(hidden=16)
    with torch.no_grad():
        D.net[0].weight.mul_(100)
    WGANClip(clip=0.01).after_discriminator_step(D)
    assert all(p.abs().max() <= 0.01 for p in D.parameters())
    assert WGANClip().n_critic == 5 and WGANGP().n_critic == 5


def _unrolled_setup(optimizer):
    torch.manual_seed(0)
    G, D = Generator2D(latent_dim=4, hidden=16), Discriminator2D(hidden=16, scale=2.0)
    opt_D = (torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999)) if optimizer == "adam"
             else torch.optim.SGD(D.parameters(), lr=0.1))
    real = ring().sample(32)
    return G, D, opt_D, real


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_unrolled_loss_leaves_the_real_discriminator_unchanged(optimizer):
    G, D, opt_D, real = _unrolled_setup(optimizer)
    if optimizer == "adam":  # give the optimiser a state, which the unroll must read but not change
        fake = G(torch.randn(32, 4)).detach()
        loss, _ = UnrolledGAN(0, None, opt_D).discriminator_loss(D, real, fake)
        loss.backward()
        opt_D.step()
        opt_D.zero_grad(set_to_none=True)
    weights = copy.deepcopy(D.state_dict())
    opt_state = copy.deepcopy(opt_D.state_dict())
    objective = UnrolledGAN(5, lambda n: real, opt_D)
    fake = G(torch.randn(32, 4))
    loss, _ = objective.generator_loss(D, fake)
    loss.backward()
    assert all(torch.equal(weights[k], v) for k, v in D.state_dict().items())
    assert all(p.grad is None for p in D.parameters()), "the unroll writes no gradient into D"
    after = opt_D.state_dict()
    for key, state in opt_state["state"].items():
        assert all(torch.equal(state[n], after["state"][key][n]) for n in state)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_one_unrolled_step_is_the_optimiser_step(optimizer):
    # theta_1 of the unroll equals what opt_D.step() makes of a copy of D on the same batches
    G, D, opt_D, real = _unrolled_setup(optimizer)
    fake = G(torch.randn(32, 4))
    objective = UnrolledGAN(1, lambda n: real, opt_D)
    unrolled = objective.unrolled_parameters(D, fake)
    D_copy = copy.deepcopy(D)
    opt_copy = type(opt_D)(D_copy.parameters(), **{k: v for k, v in opt_D.defaults.items()
                                                  if k in ("lr", "betas", "eps")})
    loss, _ = objective.discriminator_loss(D_copy, real, fake.detach())
    loss.backward()
    opt_copy.step()
    for name, p in D_copy.named_parameters():
        assert torch.allclose(unrolled[name], p, atol=1e-6), name


def test_unrolling_changes_the_generator_gradient():
    G, D, opt_D, real = _unrolled_setup("adam")
    z = torch.randn(32, 4)
    grads = []
    for k in (0, 5):
        G.zero_grad()
        loss, _ = UnrolledGAN(k, lambda n: real, opt_D, "non_saturating").generator_loss(D, G(z))
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in G.parameters()]))
    assert not torch.allclose(grads[0], grads[1], atol=1e-6)


def _tiny_linear_gan():
    """G(z) = A z + c and D(x) = w.x + b in float64 (Generator2D / Discriminator2D without hidden layers)."""
    torch.manual_seed(3)
    G = Generator2D(latent_dim=3, layers=0).double()
    D = Discriminator2D(layers=0).double()
    return G, D, torch.randn(16, 3, dtype=torch.float64), 0.5 + torch.randn(16, 2, dtype=torch.float64)


def test_unrolled_generator_gradient_matches_a_hand_written_unroll():
    # For a linear D and plain SGD the unroll can be written out: with s = sigmoid,
    # dL_D/dw = -mean (1 - s(D(x))) x + mean s(D(G(z))) G(z), dL_D/db likewise without x,
    # theta_{k+1} = theta_k - lr dL_D/dtheta, and G minimises -mean log s(D_K(G(z))).
    G, D, z, real = _tiny_linear_gan()
    lr, K = 0.3, 3
    opt_D = torch.optim.SGD(D.parameters(), lr=lr)
    loss, _ = UnrolledGAN(K, lambda n: real, opt_D).generator_loss(D, G(z))
    ours = torch.autograd.grad(loss, list(G.parameters()))

    fake = G(z)
    w, b = D.net[0].weight.detach()[0], D.net[0].bias.detach()[0]
    for _ in range(K):
        s_real, s_fake = torch.sigmoid(real @ w + b), torch.sigmoid(fake @ w + b)
        grad_w = -((1 - s_real)[:, None] * real).mean(0) + (s_fake[:, None] * fake).mean(0)
        grad_b = -(1 - s_real).mean() + s_fake.mean()
        w, b = w - lr * grad_w, b - lr * grad_b
    by_hand = torch.autograd.grad(-torch.log(torch.sigmoid(fake @ w + b)).mean(), list(G.parameters()))
    for a, b_ in zip(ours, by_hand):
        assert torch.allclose(a, b_, atol=1e-12, rtol=1e-9)
    plain = torch.autograd.grad(UnrolledGAN(0, lambda n: real, opt_D).generator_loss(D, G(z))[0], list(G.parameters()))
    assert not torch.allclose(ours[0], plain[0], atol=1e-6), "the look-ahead changes the gradient"


def test_unrolled_generator_gradient_through_adam_matches_finite_differences():
    G, D, z, real = _tiny_linear_gan()
    opt_D = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999))
    objective = UnrolledGAN(2, lambda n: real, opt_D)
    names = [n for n, _ in G.named_parameters()]

    def unrolled_loss(*params):
        fake = torch.func.functional_call(G, dict(zip(names, params)), (z,))
        return objective.generator_loss(D, fake)[0]
    params = tuple(p.detach().clone().requires_grad_() for p in G.parameters())
    assert torch.autograd.gradcheck(unrolled_loss, params, eps=1e-6, atol=1e-7)


def test_madgan_targets_name_the_generator():
    assert split_sizes(10, 3) == [4, 3, 3]
    assert generator_labels(10, 3).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    objective = MADGAN(k=3)
    assert objective.fake_targets(10).tolist() == generator_labels(10, 3).tolist()
    assert objective.real_targets(4).tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize("n", [12, 10])
def test_madgan_rows_come_from_the_generator_their_label_names(n):
    # generator j outputs the constant point (j, -j): the label of every row must be j
    G = MultiGenerator(k=3, latent_dim=4, hidden=8)
    with torch.no_grad():
        G.layers[-1].weight.zero_()
        G.layers[-1].bias.copy_(torch.tensor([[[0.0, 0.0]], [[1.0, -1.0]], [[2.0, -2.0]]]))
    out = G(torch.randn(n, 4))
    labels = MADGAN(3).fake_targets(n)
    assert torch.equal(out[:, 0], labels.float()) and torch.equal(out[:, 1], -labels.float())


def test_multigenerator_chunks_equal_the_single_generators():
    G = MultiGenerator(k=4, latent_dim=6, hidden=8)
    z = torch.randn(11, 6)
    out = G(z)
    start = 0
    for j, size in enumerate(split_sizes(11, 4)):
        assert torch.allclose(out[start:start + size], G.single(j, z[start:start + size]), atol=1e-6)
        start += size


def test_madgan_discriminator_loss_is_the_cross_entropy_of_the_maker():
    torch.manual_seed(1)
    D = Discriminator2D(hidden=8, outputs=4)
    real, fake = torch.randn(5, 2), torch.randn(6, 2)
    loss, _ = MADGAN(3).discriminator_loss(D, real, fake)
    expected = (-torch.log_softmax(D(real), 1)[:, 3].mean()
                - torch.log_softmax(D(fake), 1)[torch.arange(6), torch.tensor([0, 0, 1, 1, 2, 2])].mean())
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    g_loss, _ = MADGAN(3).generator_loss(D, fake)
    assert g_loss.item() == pytest.approx(-torch.log_softmax(D(fake), 1)[:, 3].mean().item(), rel=1e-6)


def test_pack_puts_consecutive_samples_side_by_side():
    points = torch.arange(12.0).view(6, 2)  # point i is (2i, 2i + 1)
    packed = pack(points, 3)
    assert packed.shape == (2, 6) and packed[1].tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert pack(images, 2).shape == (2, 2, 2, 2) and pack(images, 2)[1, :, 0, 0].tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="multiple of 4"):
        pack(points, 4)


def test_a_packed_discriminator_judges_each_group_of_m_points():
    # D(x) = sum of the first coordinates of the m points of a pack: one logit per pack
    D = Discriminator2D(layers=0, pack=2)
    with torch.no_grad():
        D.net[0].weight.copy_(torch.tensor([[1.0, 0.0, 1.0, 0.0]]))
        D.net[0].bias.zero_()
    x = torch.tensor([[1.0, 5.0], [2.0, 5.0], [10.0, 5.0], [20.0, 5.0]])
    assert D(x).view(-1).tolist() == [3.0, 30.0]
    loss, _ = NonSaturatingGAN().discriminator_loss(D, x, x)  # the GAN's losses on packs, unchanged
    assert loss.shape == () and torch.isfinite(loss)


def test_maxout_layer_and_the_papers_2d_networks():
    from mode_collapse.models import Maxout
    layer = Maxout(2, 3, pieces=5)
    x = torch.randn(7, 2)
    by_hand = (x @ layer.linear.weight.T + layer.linear.bias).view(7, 3, 5).max(2).values
    assert torch.equal(layer(x), by_hand)
    D = Discriminator2D(hidden=200, layers=3, maxout=5)
    assert sum(isinstance(m, Maxout) for m in D.modules()) == 3 and D(torch.randn(4, 2)).shape == (4, 1)
    G = Generator2D(latent_dim=2, hidden=400, layers=4, batch_norm=True)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in G.modules()) == 4 and G(torch.randn(8, 2)).shape == (8, 2)
