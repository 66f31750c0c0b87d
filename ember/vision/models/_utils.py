"""Helpers the architectures share (torchvision.models._utils)."""


def _make_divisible(v: float, divisor: int, min_value=None) -> int:
    """Round a channel count to a multiple of ``divisor`` (TensorFlow's MobileNet rule), never
    below ``min_value`` nor more than 10% below ``v``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v
