import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    from hypothesis import settings

    settings.register_profile("ember", deadline=None, max_examples=25, derandomize=True)
    settings.load_profile("ember")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed_ember():
    import ember
    ember.manual_seed(0)
    yield
