"""ember.Size: the shape of a tensor, a tuple that prints like torch.Size.

As torch.Size, every tuple operation that makes a new sequence of sizes (concatenation on either
side, repetition, slicing) returns a Size again, and concatenation accepts tuples only.
"""


class Size(tuple):
    __slots__ = ()

    def __repr__(self):
        return f"ember.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        # tuple + Size: Python asks the subclass's reflected method first
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        r = tuple.__mul__(self, n)
        return NotImplemented if r is NotImplemented else Size(r)

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))
