"""Part 1: the palindrome data, the shapes of both networks, and their gradients."""
import pytest
import torch
from torch import nn

from part1_lstm.dataset import PalindromeDataset, make_palindrome, max_input_length
from part1_lstm.lstm import LSTM, FusedLSTMFunction
from part1_lstm.vanilla_rnn import VanillaRNN


def test_make_palindrome_mirrors_without_repeating_the_middle():
    assert make_palindrome(42, 5) == [0, 4, 2, 4, 0]
    assert make_palindrome(42, 4) == [4, 2, 2, 4]
    assert make_palindrome(7, 2) == [7, 7]
    assert make_palindrome(123, 6) == [1, 2, 3, 3, 2, 1]


@pytest.mark.parametrize("input_length", [1, 4, 9, 29, 39, 49])
@pytest.mark.parametrize("one_hot", [False, True])
def test_dataset_items(input_length, one_hot):
    T = input_length + 1
    data = PalindromeDataset(input_length, min(500, 10 ** ((T + 1) // 2)), one_hot=one_hot, seed=1)
    assert data.digits.shape == (len(data), T)
    assert torch.equal(data.digits, data.digits.flip(1)), "every sample is a palindrome"
    x, y = data[3]
    assert x.dtype == torch.float32 and x.shape == (T - 1, 10 if one_hot else 1)
    assert isinstance(y, int) and y == int(data.digits[3, 0]), "the target is the first digit"
    if one_hot:
        assert torch.equal(x.argmax(1), data.digits[3, :-1]) and torch.all(x.sum(1) == 1)
    else:
        assert torch.equal(x[:, 0].long(), data.digits[3, :-1])
    assert len(set(data.numbers)) == len(data), "the numbers are distinct"


def test_dataset_caps_total_len_with_a_warning():
    with pytest.warns(UserWarning, match="exceeds"):
        data = PalindromeDataset(4, 5000)  # T = 5: 10**3 palindromes exist
    assert len(data) == 1000
    assert sorted(data.numbers) == list(range(1000))


def test_dataset_is_seedable():
    a, b = PalindromeDataset(9, 300, seed=3), PalindromeDataset(9, 300, seed=3)
    assert torch.equal(a.digits, b.digits)
    assert not torch.equal(a.digits, PalindromeDataset(9, 300, seed=4).digits)


def test_dataset_rejects_bad_sizes():
    with pytest.raises(ValueError):
        PalindromeDataset(0, 10)
    with pytest.raises(ValueError):
        PalindromeDataset(3, 0)


def test_dataset_builds_the_longest_length_and_names_the_limit_beyond():
    longest = max_input_length()  # Python writes out 4300 digits by default: input_length 8599
    data = PalindromeDataset(longest, 2, seed=0)
    assert data.digits.shape == (2, longest + 1) and torch.equal(data.digits, data.digits.flip(1))
    with pytest.raises(ValueError, match=f"input_length {longest + 1} is too long.*at most {longest}"):
        PalindromeDataset(longest + 1, 2)


@pytest.mark.parametrize("cls", [LSTM, VanillaRNN])
@pytest.mark.parametrize("input_dim", [1, 10])
def test_model_output_shapes(cls, input_dim):
    model = cls(seq_length=7, input_dim=input_dim, hidden_dim=16, output_dim=10)
    for batch in (1, 5):
        assert model(torch.randn(batch, 7, input_dim)).shape == (batch, 10)
    hs = model.forward_plain(torch.randn(3, 7, input_dim))
    assert len(hs) == 7 and all(h.shape == (3, 16) for h in hs)
    with pytest.raises(ValueError, match="expected input"):
        model(torch.randn(2, 6, input_dim))


@pytest.mark.parametrize("cls", [LSTM, VanillaRNN])
def test_models_reject_non_positive_sizes(cls):
    with pytest.raises(ValueError):
        cls(0, 1, 8, 10)
    with pytest.raises(ValueError):
        cls(5, 1, 0, 10)


@pytest.mark.parametrize("bias", [float("nan"), float("inf")])
def test_lstm_rejects_a_forget_bias_that_is_not_finite(bias):
    with pytest.raises(ValueError, match="forget_bias"):
        LSTM(5, 1, 8, 10, forget_bias=bias)


def _gradcheck_module(model, x):
    """gradcheck of the model's logits with respect to the input and every parameter."""
    names = [n for n, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in model.parameters()]

    def f(x, *ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,))
    return torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("fast", [False, True])
def test_lstm_gradcheck_float64(fast):
    model = LSTM(4, 3, 5, 4, forget_bias=1.0, fast=fast).double()
    assert _gradcheck_module(model, torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True))


def test_fused_function_gradcheck_float64():
    B, T, I, H = 3, 5, 2, 4
    args = (torch.randn(B, T, I, dtype=torch.float64, requires_grad=True),
            torch.randn(4 * H, I, dtype=torch.float64, requires_grad=True),
            torch.randn(4 * H, H, dtype=torch.float64, requires_grad=True),
            torch.randn(4 * H, dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(FusedLSTMFunction.apply, args)


def test_rnn_gradcheck_float64():
    model = VanillaRNN(4, 3, 5, 4).double()
    assert _gradcheck_module(model, torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True))


def _copy_from_torch_lstm(ours, ref):
    """Load nn.LSTM's weights into our LSTM. nn.LSTM stacks its gates as i, f, g, o."""
    w_ih = ref.weight_ih_l0.detach().chunk(4)
    w_hh = ref.weight_hh_l0.detach().chunk(4)
    bias = (ref.bias_ih_l0 + ref.bias_hh_l0).detach().chunk(4)
    with torch.no_grad():
        for k, gate in enumerate("ifgo"):
            getattr(ours, f"W_{gate}x").copy_(w_ih[k])
            getattr(ours, f"W_{gate}h").copy_(w_hh[k])
            getattr(ours, f"b_{gate}").copy_(bias[k])


@pytest.mark.parametrize("fast", [True, False])
def test_parameter_gradients_match_torch_nn_lstm(fast):
    """dL/dW of every gate against nn.LSTM's. nn.LSTM stacks the gates i, f, g, o and adds two
    biases, b_ih + b_hh: our b_gate gets the gradient each of them gets."""
    torch.manual_seed(3)
    ref, head = nn.LSTM(4, 6, batch_first=True).double(), nn.Linear(6, 10).double()
    ours = LSTM(7, 4, 6, 10, fast=fast).double()
    _copy_from_torch_lstm(ours, ref)
    with torch.no_grad():
        ours.W_ph.copy_(head.weight)
        ours.b_p.copy_(head.bias)
    x, y = torch.randn(5, 7, 4, dtype=torch.float64), torch.randint(0, 10, (5,))
    nn.functional.cross_entropy(head(ref(x)[0][:, -1]), y).backward()
    nn.functional.cross_entropy(ours(x), y).backward()
    for k, gate in enumerate("ifgo"):
        for ours_name, ref_param in ((f"W_{gate}x", ref.weight_ih_l0), (f"W_{gate}h", ref.weight_hh_l0),
                                     (f"b_{gate}", ref.bias_ih_l0), (f"b_{gate}", ref.bias_hh_l0)):
            expected = ref_param.grad.chunk(4)[k]
            assert expected.abs().max() > 0, "a zero gradient would compare equal to anything"
            torch.testing.assert_close(getattr(ours, ours_name).grad, expected, rtol=1e-9, atol=1e-12,
                                       msg=lambda m: f"{ours_name} (fast={fast}): {m}")
    torch.testing.assert_close(ours.W_ph.grad, head.weight.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(ours.b_p.grad, head.bias.grad, rtol=1e-9, atol=1e-12)


def test_lstm_matches_torch_nn_lstm():
    ref = nn.LSTM(6, 32, batch_first=True)
    ours = LSTM(12, 6, 32, 10)
    _copy_from_torch_lstm(ours, ref)
    x = torch.randn(16, 12, 6)
    expected, _ = ref(x)
    hs = torch.stack(ours.forward_plain(x), dim=1)
    assert (hs - expected).abs().max().item() < 1e-5, "every hidden state agrees"
    assert (ours.last_hidden(x) - expected[:, -1]).abs().max().item() < 1e-5, "the fast path agrees"


def test_fast_path_equals_plain_loop_forward_and_backward():
    torch.manual_seed(1)
    model = LSTM(15, 10, 64, 10, forget_bias=1.0)
    x = torch.randn(32, 15, 10, requires_grad=True)
    y = torch.randint(0, 10, (32,))
    grads = {}
    for fast in (False, True):
        model.fast = fast
        model.zero_grad()
        x.grad = None
        logits = model(x)
        nn.functional.cross_entropy(logits, y).backward()
        grads[fast] = (logits.detach(), x.grad.clone(), [p.grad.clone() for p in model.parameters()])
    (l0, gx0, gp0), (l1, gx1, gp1) = grads[False], grads[True]
    assert torch.allclose(l0, l1, atol=1e-5)
    assert torch.allclose(gx0, gx1, atol=1e-6)
    for a, b in zip(gp0, gp1):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_forget_bias_shifts_only_the_forget_gate():
    torch.manual_seed(0)
    a = LSTM(3, 2, 8, 4, forget_bias=0.0)
    torch.manual_seed(0)
    b = LSTM(3, 2, 8, 4, forget_bias=2.5)
    assert torch.allclose(b.b_f - a.b_f, torch.full((8,), 2.5))
    assert torch.equal(a.b_i, b.b_i) and torch.equal(a.W_fh, b.W_fh)
