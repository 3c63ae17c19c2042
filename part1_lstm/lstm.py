"""An LSTM written from its equations (no torch.nn.LSTM, no nn.LSTMCell).

For every time step t, with h(0) = c(0) = 0 (Hochreiter & Schmidhuber, 1997; the forget
gate of Gers, Schmidhuber & Cummins, 2000):

    g(t) = tanh(W_gx x(t) + W_gh h(t-1) + b_g)        candidate memory
    i(t) = sigmoid(W_ix x(t) + W_ih h(t-1) + b_i)     input gate
    f(t) = sigmoid(W_fx x(t) + W_fh h(t-1) + b_f)     forget gate
    o(t) = sigmoid(W_ox x(t) + W_oh h(t-1) + b_o)     output gate
    c(t) = g(t) * i(t) + c(t-1) * f(t)
    h(t) = tanh(c(t)) * o(t)
    p    = W_ph h(T) + b_p,   y~ = softmax(p)

The model returns the logits p of the last step; the loss (cross-entropy on p) is applied by
the caller. ``forward_plain`` is the loop above, line by line. ``forward`` by default takes a
fast path computing the same function (tests prove it): the four gates as one fused matrix,
the input projections of all steps in one matrix product before the loop, and
backpropagation through time written by hand in ``FusedLSTMFunction`` instead of recording
a dozen autograd nodes per step.
"""
import math

import torch
from torch import nn

GATES = ("g", "i", "f", "o")  # order of the gates in the fused weights


def set_sizes(module, seq_length, input_dim, hidden_dim, output_dim):
    """Check that every size is positive and store it on ``module`` (both networks of Part 1)."""
    for name, value in (("seq_length", seq_length), ("input_dim", input_dim),
                        ("hidden_dim", hidden_dim), ("output_dim", output_dim)):
        if int(value) < 1:
            raise ValueError(f"{name} must be positive, got {value}")
        setattr(module, name, int(value))


def check_input(module, x):
    """ValueError unless x is (batch, module.seq_length, module.input_dim)."""
    if x.dim() != 3 or x.shape[1] != module.seq_length or x.shape[2] != module.input_dim:
        raise ValueError(f"expected input of shape (batch, {module.seq_length}, {module.input_dim}), "
                         f"got {tuple(x.shape)}")


class LSTM(nn.Module):
    """Inputs: x (batch, seq_length, input_dim). Outputs: logits (batch, output_dim).

    forget_bias is added to b_f at initialisation (0 reproduces the plain uniform init;
    1 keeps the memory open at the start of training, Gers et al. 2000, Jozefowicz et al. 2015).
    """

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim, forget_bias=0.0, fast=True):
        super().__init__()
        set_sizes(self, seq_length, input_dim, hidden_dim, output_dim)
        if not math.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias}")
        self.fast = fast
        # Weights act on column vectors as in the equations: W_gx has shape (hidden, input).
        for gate in GATES:
            setattr(self, f"W_{gate}x", nn.Parameter(torch.empty(hidden_dim, input_dim)))
            setattr(self, f"W_{gate}h", nn.Parameter(torch.empty(hidden_dim, hidden_dim)))
            setattr(self, f"b_{gate}", nn.Parameter(torch.empty(hidden_dim)))
        self.W_ph = nn.Parameter(torch.empty(output_dim, hidden_dim))
        self.b_p = nn.Parameter(torch.empty(output_dim))
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias=0.0):
        """Uniform(-1/sqrt(hidden), 1/sqrt(hidden)) as torch.nn.LSTM, plus forget_bias on b_f."""
        bound = 1.0 / math.sqrt(self.hidden_dim)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)
            self.b_f.add_(forget_bias)

    def forward_plain(self, x):
        """The equations as written. Returns the hidden states [h(1), ..., h(T)], each (batch, hidden)."""
        check_input(self, x)
        h = x.new_zeros(x.shape[0], self.hidden_dim)
        c = x.new_zeros(x.shape[0], self.hidden_dim)
        hs = []
        for t in range(self.seq_length):
            x_t = x[:, t]
            g = torch.tanh(x_t @ self.W_gx.T + h @ self.W_gh.T + self.b_g)
            i = torch.sigmoid(x_t @ self.W_ix.T + h @ self.W_ih.T + self.b_i)
            f = torch.sigmoid(x_t @ self.W_fx.T + h @ self.W_fh.T + self.b_f)
            o = torch.sigmoid(x_t @ self.W_ox.T + h @ self.W_oh.T + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
            hs.append(h)
        return hs

    def fused_weights(self):
        """(W_x (4H, input), W_h (4H, H), b (4H,)): the gates stacked in the order g, i, f, o."""
        W_x = torch.cat([getattr(self, f"W_{g}x") for g in GATES])
        W_h = torch.cat([getattr(self, f"W_{g}h") for g in GATES])
        b = torch.cat([getattr(self, f"b_{g}") for g in GATES])
        return W_x, W_h, b

    def last_hidden(self, x):
        """h(T), (batch, hidden), by the fast path or the plain one."""
        if not self.fast:
            return self.forward_plain(x)[-1]
        check_input(self, x)
        return FusedLSTMFunction.apply(x, *self.fused_weights())

    def forward(self, x):
        return self.last_hidden(x) @ self.W_ph.T + self.b_p


class FusedLSTMFunction(torch.autograd.Function):
    """h(T) of the LSTM above, with backpropagation through time written by hand.

    Inputs: x (B, T, I); W_x (4H, I); W_h (4H, H); b (4H,), gates in the order g, i, f, o.
    Output: h(T), (B, H).

    Backward, going from t = T down to 1, with dh = dL/dh(t) and dc = dL/dc(t) accumulated:
        dc += dh * o * (1 - tanh(c)^2)
        da_g = dc * i * (1 - g^2)            da_i = dc * g * i (1 - i)
        da_f = dc * c(t-1) * f (1 - f)       da_o = dh * tanh(c) * o (1 - o)
        dc(t-1) = dc * f,   dh(t-1) = W_h^T da(t)
    where a(t) are the pre-activations. The weight gradients are then one matrix product
    each over all time steps: dW_x = sum_t da(t) x(t)^T, dW_h = sum_t da(t) h(t-1)^T.
    """

    @staticmethod
    def forward(ctx, x, W_x, W_h, b):
        B, T, _ = x.shape
        H = W_h.shape[1]
        # tanh(z) = 2 sigmoid(2z) - 1. On CPU torch.tanh is about three times slower than
        # torch.sigmoid, so the g rows are scaled by 2 and all four gates share one sigmoid.
        scale = torch.ones(4 * H, 1, dtype=x.dtype, device=x.device)
        scale[:H] = 2
        W_h2 = W_h * scale
        xs = x.transpose(0, 1).reshape(T * B, -1)
        # Pre-activations of every step from the inputs, in one product; the loop adds W_h h.
        acts = torch.addmm(b * scale[:, 0], xs, (W_x * scale).T).view(T, B, 4 * H)
        hs = x.new_zeros(T + 1, B, H)   # hs[t] = h(t), hs[0] = h(0) = 0
        cs = x.new_zeros(T + 1, B, H)   # cs[t] = c(t)
        tanh_c = x.new_empty(T, B, H)   # tanh(c(t+1))
        # Derivatives of the activations, computed while each step is still in the cache:
        act_grad = torch.empty_like(acts)   # 1 - g^2 for g, s (1 - s) for the gates
        tanh_grad = torch.empty_like(tanh_c)  # 1 - tanh(c)^2
        for t in range(T):
            a = acts[t]
            if t > 0:  # h(0) = 0 adds nothing
                a.addmm_(hs[t], W_h2.T)
            a.sigmoid_()
            g = a[:, :H].mul_(2).sub_(1)
            _, i, f, o = a.split(H, 1)
            torch.mul(cs[t], f, out=cs[t + 1]).addcmul_(g, i)
            tc = torch.mul(cs[t + 1], 2, out=tanh_c[t]).sigmoid_().mul_(2).sub_(1)
            torch.mul(tc, o, out=hs[t + 1])
            ag = torch.addcmul(a, a, a, value=-1, out=act_grad[t])
            ag[:, :H].sub_(g).add_(1)  # g - g^2 + 1 - g = 1 - g^2
            torch.addcmul(tanh_grad[t].fill_(1), tc, tc, value=-1, out=tanh_grad[t])
        ctx.save_for_backward(xs, W_x, W_h, acts, act_grad, cs, hs, tanh_c, tanh_grad)
        ctx.x_shape = x.shape
        return hs[T].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h):
        xs, W_x, W_h, acts, act_grad, cs, hs, tanh_c, tanh_grad = ctx.saved_tensors
        T, B, H4 = acts.shape
        H = H4 // 4
        d_acts = torch.empty_like(acts)
        dh = grad_h.contiguous()
        dc = torch.zeros_like(dh)
        for t in range(T - 1, -1, -1):
            g, i, f, o = acts[t].split(H, 1)
            dc = dc.addcmul(dh * o, tanh_grad[t])
            da = torch.mul(torch.cat([dc * i, dc * g, dc * cs[t], dh * tanh_c[t]], 1),
                           act_grad[t], out=d_acts[t])
            dc = dc * f
            if t > 0:
                dh = da @ W_h
        da_all = d_acts.view(T * B, H4)
        dW_x = da_all.T @ xs
        dW_h = d_acts[1:].view((T - 1) * B, H4).T @ hs[1:T].reshape((T - 1) * B, H)
        db = da_all.sum(0)
        dx = None
        if ctx.needs_input_grad[0]:
            B_, T_, I = ctx.x_shape
            dx = (da_all @ W_x).view(T_, B_, I).transpose(0, 1)
        return dx, dW_x, dW_h, db
