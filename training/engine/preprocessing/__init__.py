"""Preprocessing shared by trainers and predictors: one function per step, imported by both.

These modules stay light (numpy, stdlib, tokenizers) because the serving process imports
them; a mismatch between training-time and serving-time preprocessing is the classic way
a good model serves wrong answers, so there is exactly one implementation of each step.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input the preprocessing cannot turn into model features (the message says why)."""
