"""ember.nn.utils: torch.nn.utils's helpers (gradient clipping, parameter vectors, packed
sequences for RNNs, parametrizations such as weight and spectral norm)."""
# one line per module (keep this anchor comment last):
from . import rnn  # noqa: F401
from .clip_grad import *  # noqa: F401,F403
from .convert_parameters import *  # noqa: F401,F403
from . import parametrize, parametrizations  # noqa: F401
from .weight_norm import *  # noqa: F401,F403
from .spectral_norm import *  # noqa: F401,F403
# -- utils modules above --
