"""Small utilities shared by every part: command-line conventions, devices, files."""
