"""Part 1: an LSTM written from its equations, against a vanilla RNN, on palindromes."""
