"""ember.nn's Module classes, re-exported by ember.nn."""
from .module import Module, Parameter  # noqa: F401
# one line per module file (keep this anchor comment last):
from .module import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
# -- module files above --
