"""InstanceNorm1d/2d/3d, as torch.nn.modules.instancenorm; the computing is ``F.instance_norm``.

They share torch's _NormBase with the batch norms (options, affine parameters, running-statistic
buffers, repr, state-dict versioning): here that is ember's ``batchnorm._BatchNorm``, with
instance norm's defaults (no affine, no running statistics) and its own forward.
"""
from __future__ import annotations

import warnings

from .. import functional as F
from .batchnorm import _BatchNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class _InstanceNorm(_BatchNorm):
    r"""Instance normalisation (Ulyanov et al., 2016): each (sample, channel) plane standardised
    over its own positions (biased variance), then γ/β per channel when ``affine``:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Instance statistics normalise in training and in evaluation, unless
    ``track_running_stats=True``: then training updates ``running_mean``/``running_var``
    (momentum as BatchNorm; ``num_batches_tracked`` is kept but not counted, as torch) and
    evaluation normalises with them. Unbatched input (no N) works.

    Args:
        num_features: C (only checked when ``affine``; otherwise a mismatch warns, as torch).
        eps: added to the variance (default 1e-5).
        momentum: the running statistics' update factor (default 0.1; None counts as 0).
        affine: learn γ (ones) and β (zeros) (default False).
        track_running_stats: keep running statistics (default False).
    """

    _no_batch_dim: int = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device,
                         dtype=dtype, bias=bias)

    def _handle_no_batch_input(self, input):
        return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)

    def _apply_instance_norm(self, input):
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                               self.bias, self.training or not self.track_running_stats,
                               self.momentum if self.momentum is not None else 0.0, self.eps)

    def forward(self, input):
        self._check_input_dim(input)
        feature_dim = input.dim() - self._no_batch_dim
        if input.size(feature_dim) != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{input.size(feature_dim)}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You "
                          f"can silence this warning by not passing in num_features, which is "
                          f"not used because affine=False", stacklevel=2)
        if input.dim() == self._no_batch_dim:
            return self._handle_no_batch_input(input)
        return self._apply_instance_norm(input)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        # checkpoints from before torch 0.4 kept running stats that the layer no longer tracks
        if version is None and not self.track_running_stats:
            keys = [prefix + name for name in ("running_mean", "running_var")
                    if prefix + name in state_dict]
            if keys:
                klass = type(self).__name__
                names = " and ".join('"' + k + '"' for k in keys)
                error_msgs.append(
                    f"Unexpected running stats buffer(s) {names} "
                    f"for {klass} with track_running_stats=False. If state_dict is a checkpoint "
                    f"saved before 0.4.0, this may be expected because {klass} does not track "
                    f"running stats by default since 0.4.0. Please remove these keys from "
                    f"state_dict. If the running stats are actually needed, instead set "
                    f"track_running_stats=True in {klass} to enable them. See the "
                    f"documentation of {klass} for details.")
                for key in keys:
                    state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of ``(N, C, L)`` or unbatched ``(C, L)``."""

    _expected_dims = (2, 3)
    _dims_text = "2D or 3D"
    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of ``(N, C, H, W)`` or unbatched ``(C, H, W)``."""

    _expected_dims = (3, 4)
    _dims_text = "3D or 4D"
    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``."""

    _expected_dims = (4, 5)
    _dims_text = "4D or 5D"
    _no_batch_dim = 4
