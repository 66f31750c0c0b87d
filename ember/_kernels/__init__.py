"""Array kernels: NumPy arrays in, NumPy arrays out. No Tensor, no autograd here."""
from . import elementwise  # noqa: F401
