"""The palindrome task: predict the last digit of a palindrome from the ones before it.

A palindrome of length T is built from a number of ceil(T/2) digits, zero-padded and
mirrored, the middle digit not repeated when T is odd: 042 -> 04240 (T = 5), 04 -> 0440 (T = 4).
The input is the first T-1 digits; the target is the last digit, which equals the first
one, so the network has to carry the first input across T-1 steps.

Compatible with the course's ``PalindromeDataset(input_length, total_len, one_hot)``.
"""
import math
import random
import sys
import warnings

import torch
from torch.utils.data import Dataset


def max_input_length():
    """The longest input this module builds, or None for no limit.

    The first half of a palindrome is drawn as a Python integer and written out in decimal,
    which Python limits to sys.get_int_max_str_digits() digits: ceil(T/2) <= limit.
    """
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    return 2 * limit - 1 if limit else None


def check_input_length(input_length):
    """ValueError unless palindromes with ``input_length`` inputs can be built."""
    longest = max_input_length()
    if int(input_length) < 1:
        raise ValueError(f"input_length must be at least 1, got {input_length}")
    if longest is not None and input_length > longest:
        raise ValueError(f"input_length {input_length} is too long: the first half of a palindrome is a number "
                         f"of ceil(T/2) digits and Python writes out at most {(longest + 1) // 2} "
                         f"(sys.get_int_max_str_digits()), so input_length can be at most {longest}")


def palindrome_count(input_length, total_len):
    """How many palindromes PalindromeDataset(input_length, total_len) holds: at most the 10**ceil(T/2) that exist."""
    return min(int(total_len), 10 ** math.ceil((int(input_length) + 1) / 2))


def data_bytes(count, input_length, one_hot):
    """Peak bytes while building ``count`` palindromes: the int64 digits (N, T), and while encoding
    the int64 one-hot tensor (N, T-1, 10) beside its float32 copy, or the float32 values (N, T-1, 1)."""
    per_digit = 8 + (10 * (8 + 4) if one_hot else 4)
    return count * (int(input_length) + 1) * per_digit


def make_palindrome(number, length):
    """The palindrome of ``length`` digits whose first half is ``number`` (a list of ints)."""
    half = str(number).zfill(math.ceil(length / 2))
    return [int(d) for d in half + half[: length // 2][::-1]]


def distinct_numbers(max_num, count, rng):
    """``count`` distinct integers drawn uniformly from [0, max_num)."""
    if max_num < 2 ** 62:
        # random.sample draws from range(10**k) without building the range ...
        return rng.sample(range(max_num), count)
    # ... but needs len(range) to fit in a C integer; beyond, rejection (count << max_num here).
    seen, numbers = set(), []
    while len(numbers) < count:
        n = rng.randrange(max_num)
        if n not in seen:
            seen.add(n)
            numbers.append(n)
    return numbers


class PalindromeDataset(Dataset):
    """``total_len`` distinct palindromes of length T = input_length + 1.

    Inputs:
        input_length: number of digits the model sees, T - 1 (at least 1).
        total_len: number of distinct palindromes; capped, with a warning, at the
            10**ceil(T/2) that exist.
        one_hot: encode each input digit as a one-hot vector of 10 instead of its value.
        seed: seed for drawing the numbers (None: not seeded).
    Items:
        x: float32, (T-1, 1) digit values, or (T-1, 10) one-hot vectors.
        y: int, the last digit.
    """

    def __init__(self, input_length, total_len, one_hot=False, seed=None):
        check_input_length(input_length)
        if int(total_len) < 1:
            raise ValueError(f"total_len must be positive, got {total_len}")
        self.input_length = int(input_length)
        self.seq_length = self.input_length + 1
        self.half_length = math.ceil(self.seq_length / 2)
        self.one_hot = one_hot
        max_num = 10 ** self.half_length
        if total_len > max_num:
            warnings.warn(f"total_len={total_len} exceeds the {max_num} distinct palindromes of "
                          f"length {self.seq_length}; using {max_num}", stacklevel=2)
            total_len = max_num
        self.total_len = int(total_len)
        self.numbers = distinct_numbers(max_num, self.total_len, random.Random(seed))
        self.digits = torch.tensor([make_palindrome(n, self.seq_length) for n in self.numbers],
                                   dtype=torch.long)
        self.inputs = self.encode(self.digits[:, :-1], one_hot)
        self.targets = self.digits[:, -1].clone()

    @staticmethod
    def encode(digits, one_hot):
        """(N, L) integer digits -> (N, L, 10) one-hot or (N, L, 1) float32 values."""
        if one_hot:
            return torch.nn.functional.one_hot(digits, 10).float()
        return digits.float().unsqueeze(-1)

    @property
    def input_dim(self):
        return 10 if self.one_hot else 1

    def __len__(self):
        return self.total_len

    def __getitem__(self, idx):
        return self.inputs[idx], int(self.targets[idx])
