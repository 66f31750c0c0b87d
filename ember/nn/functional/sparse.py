"""torch.nn.functional's index-to-dense functions: one_hot."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor

__all__ = ["one_hot"]


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``one_hot(tensor, num_classes=-1)``: an int64 tensor of shape ``tensor.shape +
    (num_classes,)`` with a 1 at each index; ``num_classes=-1`` takes ``tensor.max() + 1``."""
    if not isinstance(tensor, Tensor) or tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    index = tensor._data
    if num_classes == -1:
        if index.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(index.max()) + 1
    if index.size:
        if index.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if index.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(index.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, index[..., None], 1, axis=-1)
    return Tensor._wrap(out)
