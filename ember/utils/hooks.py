"""Hook handles, as torch.utils.hooks: the one ``RemovableHandle`` that Module's and
Optimizer's ``register_*_hook`` methods return."""
from __future__ import annotations

import weakref

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """A handle that removes a hook (torch.utils.hooks.RemovableHandle); also a context manager.

    ``hooks_dict``: the (ordered) dict the hook is stored in under ``handle.id``; ``extra_dict``:
    dicts (or one) whose entry under the same id is removed with the hook. The dicts are held
    weakly, so a handle does not keep its module or optimizer alive."""

    next_id: int = 0

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        if isinstance(extra_dict, dict):
            extra_dict = [extra_dict]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in (extra_dict or ()))

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __getstate__(self):
        # weak references cannot be pickled: the dicts go in as themselves (torch's handle)
        return (self.hooks_dict_ref(), self.id, tuple(ref() for ref in self.extra_dict_ref))

    def __setstate__(self, state) -> None:
        from collections import OrderedDict
        self.hooks_dict_ref = weakref.ref(OrderedDict() if state[0] is None else state[0])
        self.id = state[1]
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)
        self.extra_dict_ref = tuple(weakref.ref(d) for d in (state[2] if len(state) > 2 else ())
                                    if d is not None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
