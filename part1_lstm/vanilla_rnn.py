"""A vanilla (Elman) RNN, the baseline the LSTM is compared with.

    h(t) = tanh(W_hx x(t) + W_hh h(t-1) + b_h),   h(0) = 0
    p    = W_ph h(T) + b_p
"""
import math

import torch
from torch import nn

from part1_lstm.lstm import check_input, set_sizes


class VanillaRNN(nn.Module):
    """Inputs: x (batch, seq_length, input_dim). Outputs: logits (batch, output_dim)."""

    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super().__init__()
        set_sizes(self, seq_length, input_dim, hidden_dim, output_dim)
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
        check_input(self, x)
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
