"""``ember.device``: torch's device names, with the CPU the only one that computes.

Scripts written for torch pick a device (``device('cuda' if cuda.is_available() else 'cpu')``)
and move tensors and modules to it; ember accepts every name torch does and raises torch's own
error, for a build without that device, when anything but the CPU is asked to hold data.
"""
from __future__ import annotations

__all__ = ["device"]

_DEVICE_TYPES = ("cpu", "cuda", "mps", "meta")


class device:
    """A device, as torch.device: ``device('cuda')`` can be named (so that
    ``device('cuda' if cuda.is_available() else 'cpu')`` works), but only the CPU computes:
    putting a tensor anywhere else raises torch's error for a build without that device."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # torch.device(0) is the first GPU
        name, _, number = str(type).partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of "
                               f"device string: {type}")
        if number:
            if index is not None or not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        self.type, self.index = name, index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


_CPU = device("cpu")


class NoCudaError(AssertionError, RuntimeError):
    """What torch built without CUDA raises (an AssertionError) when a GPU is asked for; also a
    RuntimeError, the type ember's other device errors have."""


NO_CUDA_MESSAGE = "Torch not compiled with CUDA enabled (ember runs on the CPU only)"


def _check_device(dev):
    """Raise, as torch built without that device does, unless ``dev`` (a device, its name or
    index, or None) is the CPU."""
    if dev is None:
        return
    kind = device(dev).type
    if kind == "cuda":
        raise NoCudaError(NO_CUDA_MESSAGE)
    if kind == "mps":
        raise RuntimeError("PyTorch is not linked with support for mps devices (ember runs on the "
                           "CPU only)")
    if kind != "cpu":
        raise RuntimeError(f"ember runs on the CPU only; device {str(dev)!r} is not available")
