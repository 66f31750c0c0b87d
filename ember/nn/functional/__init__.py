"""ember.nn.functional: torch.nn.functional's API. Each family lives in its own module here;
this package re-exports them so ``import ember.nn.functional as F`` works as in torch."""
# one line per family module (keep this anchor comment last):
from .pooling import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from ..._ops.stats import cosine_similarity  # noqa: F401,E402  (issue 11, G4)
from .attention import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
# -- functional modules above --
