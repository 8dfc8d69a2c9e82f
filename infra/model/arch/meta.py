"""Module construction without allocating or initialising weights (torch 1.13 has no
`with torch.device("meta")`): torch.nn layers create their parameters with `torch.empty`, so
routing that to the meta device gives shapes only; `to_empty` later allocates real storage."""
import contextlib

import torch

_EMPTY = torch.empty


@contextlib.contextmanager
def meta_device():
    def empty(*size, **kwargs):
        if kwargs.get("device") is None:  # layers pass device=None explicitly
            kwargs["device"] = "meta"
        return _EMPTY(*size, **kwargs)

    torch.empty = empty
    try:
        yield
    finally:
        torch.empty = _EMPTY


def on_meta(cls, *args):
    with meta_device():
        return cls(*args)


def param_count(module):
    return sum(p.numel() for p in module.parameters())
