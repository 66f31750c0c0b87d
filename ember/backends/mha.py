"""torch.backends.mha: whether MultiheadAttention and TransformerEncoder(Layer) take torch's
fused inference "fast path". ember has no fused kernel, but the fast path's results differ in
edge cases (a fully masked query row is NaN there, zeros elsewhere; TransformerEncoder zeroes
padded positions), and ember reproduces whichever path torch would take - so this switch
changes ember's numbers exactly where it changes torch's."""
from .. import _state

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]


def get_fastpath_enabled() -> bool:
    """Whether the fast path may be taken (it still needs all of torch's input conditions)."""
    return _state.mha_fastpath.enabled


def set_fastpath_enabled(value: bool) -> None:
    _state.mha_fastpath.enabled = bool(value)
