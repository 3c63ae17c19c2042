"""A vanilla (Elman) RNN, the baseline the LSTM is compared with.

    h(t) = tanh(W_hx x(t) + W_hh h(t-1) + b_h),   h(0) = 0
    p    = W_ph h(T) + b_p
"""
import math

import torch
from torch import nn


class VanillaRNN(nn.Module):
    """Inputs: x (batch, seq_length, input_dim). Outputs: logits (batch, output_dim)."""

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super().__init__()
        for name, value in (("seq_length", seq_length), ("input_dim", input_dim),
                            ("hidden_dim", hidden_dim), ("output_dim", output_dim)):
            if int(value) < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        self.seq_length, self.input_dim = int(seq_length), int(input_dim)
        self.hidden_dim, self.output_dim = int(hidden_dim), int(output_dim)
        self.W_hx = nn.Parameter(torch.empty(hidden_dim, input_dim))
        self.W_hh = nn.Parameter(torch.empty(hidden_dim, hidden_dim))
        self.b_h = nn.Parameter(torch.empty(hidden_dim))
        self.W_ph = nn.Parameter(torch.empty(output_dim, hidden_dim))
        self.b_p = nn.Parameter(torch.empty(output_dim))
        self.reset_parameters()

    def reset_parameters(self):
        """Uniform(-1/sqrt(hidden), 1/sqrt(hidden)), as torch.nn.RNN and our LSTM."""
        bound = 1.0 / math.sqrt(self.hidden_dim)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def forward_plain(self, x):
        """Returns the hidden states [h(1), ..., h(T)], each (batch, hidden)."""
        if x.dim() != 3 or x.shape[1] != self.seq_length or x.shape[2] != self.input_dim:
            raise ValueError(f"expected input of shape (batch, {self.seq_length}, {self.input_dim}), "
                             f"got {tuple(x.shape)}")
        # The input term of every step in one product; the loop adds the recurrent term.
        x_proj = (x @ self.W_hx.T + self.b_h).unbind(1)
        h = x.new_zeros(x.shape[0], self.hidden_dim)
        hs = []
        for t in range(self.seq_length):
            h = torch.tanh(x_proj[t] + h @ self.W_hh.T)
            hs.append(h)
        return hs

    def last_hidden(self, x):
        return self.forward_plain(x)[-1]

    def forward(self, x):
        return self.last_hidden(x) @ self.W_ph.T + self.b_p
