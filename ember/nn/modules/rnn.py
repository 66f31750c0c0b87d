"""RNN, LSTM, GRU and their cells, as torch.nn.modules.rnn.

The modules are declarative, as torch's: they check their options, register the parameters
under torch's names and in torch's order (``weight_ih_l{k}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``, then the same with ``_reverse``), start
every parameter as U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) in that order, and check their
inputs with torch's messages. The computation is ember/_ops/rnn.py's (the stack of layers and
directions, each one fused forward and backward through time over the packed layout).

Gates, in torch's layout: LSTM rows of W_ih / W_hh are i, f, g, o; GRU r, z, n, with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) (TRAPS.md 21).
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np

from ... import empty, zeros
from ..._dtype import scalar_type_name
from ..._ops import rnn as _rnn
from .. import functional as F
from .. import init
from ..utils.rnn import PackedSequence
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _check_sizes(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    # torch's order of checks (torch/nn/modules/rnn.py, RNNBase.__init__)
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 \
            or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                            f"{type(value).__name__}")
        if name == "input_size" and value <= 0:
            raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


def _check_state_dtypes(states, weight_dtype) -> None:
    # torch fails in its hidden-state GEMM (the LSTM's oneDNN path with its own wording); the
    # kernels would silently cast the state, so refuse here with the GEMM's message
    for state in states:
        if state is not None and state.dtype != weight_dtype:
            raise RuntimeError("mat1 and mat2 must have the same dtype, but got "
                               f"{scalar_type_name(state.dtype)} and "
                               f"{scalar_type_name(weight_dtype)}")


def _permute(hx, permutation):
    return hx if permutation is None else hx.index_select(1, permutation)


class RNNBase(Module):
    """The parameters, checks and forward shared by RNN, LSTM and GRU; ``mode`` is
    'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_sizes(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden_size * directions
                shapes = {"weight_ih_l{}{}": (gate_size, layer_input),
                          "weight_hh_l{}{}": (gate_size, real_hidden_size)}
                if bias:
                    shapes["bias_ih_l{}{}"] = (gate_size,)
                    shapes["bias_hh_l{}{}"] = (gate_size,)
                if proj_size > 0:
                    shapes["weight_hr_l{}{}"] = (proj_size, hidden_size)
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for pattern, shape in shapes.items():
                    name = pattern.format(layer, suffix)
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters, one list per layer and direction, in torch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op, as torch's on the CPU (it packs cuDNN's weight buffer)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- checks, with torch's messages ----------------------------------------------------------
    def check_input(self, input, batch_sizes) -> None:
        weight_dtype = getattr(self, self._flat_weights_names[0]).dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight_dtype}). Convert input: input.to({weight_dtype}), or "
                             f"convert model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got "
                               f"{input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        directions = 2 if self.bidirectional else 1
        return (self.num_layers * directions, mini_batch,
                self.proj_size if self.proj_size > 0 else self.hidden_size)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return _permute(hx, permutation)

    # -- forward ------------------------------------------------------------------------------
    def _zeros(self, input, batch, width):
        directions = 2 if self.bidirectional else 1
        return zeros(self.num_layers * directions, batch, width, dtype=input.dtype)

    def _unpack_input(self, input, hx, dim_message):
        """(data, batch_sizes array or None, sorted/unsorted indices, hx (permuted and 3-D or
        None), is_batched): torch's input handling before the checks."""
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            return data, batch_sizes, sorted_indices, unsorted_indices, hx, True
        if input.dim() not in (2, 3):
            raise ValueError(dim_message.format(input.dim()))
        is_batched = input.dim() == 3
        if not is_batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        return input, None, None, None, hx, is_batched

    def _run(self, input, batch_sizes, hx, cx):
        """The stack over ``input`` (packed data, or a dense 3-D batch); returns (output in
        the input's layout, h_n, c_n)."""
        weights = [[getattr(self, n) for n in names] for names in self._all_weights]
        weights = [self._layer_weights(names, w) for names, w in zip(self._all_weights, weights)]
        _check_state_dtypes((hx, cx), weights[0][0].dtype)
        # dropout between layers, training only: F.dropout's mask, drawn as torch draws it
        between = None
        if self.training and self.dropout > 0:
            between = functools.partial(F.dropout, p=self.dropout, training=True)
        if batch_sizes is not None:
            sizes = batch_sizes.numpy().astype(np.int64)
            return _rnn.rnn(self.mode, input, sizes, hx, cx, weights, self.num_layers,
                            self.bidirectional, between)
        if self.batch_first:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        if steps == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        flat = input.reshape(steps * batch, input.shape[2])
        sizes = np.full(steps, batch, dtype=np.int64)
        out, h_n, c_n = _rnn.rnn(self.mode, flat, sizes, hx, cx, weights, self.num_layers,
                                 self.bidirectional, between)
        out = out.reshape(steps, batch, out.shape[1])
        return (out.transpose(0, 1) if self.batch_first else out), h_n, c_n

    @staticmethod
    def _layer_weights(names, params):
        by_kind = {name.split("_l")[0]: p for name, p in zip(names, params)}
        return [by_kind.get(k) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                         "weight_hr")]

    def _forward_single_state(self, input, hx, dim_message):
        """RNN and GRU: one state tensor."""
        orig_is_packed = isinstance(input, PackedSequence)
        data, batch_sizes, sorted_indices, unsorted_indices, hx, is_batched = \
            self._unpack_input(input, hx, dim_message)
        if not orig_is_packed and hx is not None:
            if not is_batched and hx.dim() != 2:
                raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.dim()}-D tensor")
            if is_batched and hx.dim() != 3:
                raise RuntimeError("For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
            if not is_batched:
                hx = hx.unsqueeze(1)
        if hx is None:
            batch = int(batch_sizes[0]) if orig_is_packed else \
                data.size(0 if self.batch_first else 1)
            hx = self._zeros(data, batch, self.hidden_size)
        else:
            hx = self.permute_hidden(hx, sorted_indices)
        self.check_forward_args(data, hx, batch_sizes)
        output, hidden, _ = self._run(data, batch_sizes, hx, None)
        if orig_is_packed:
            return (PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        if not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = hidden.squeeze(1)
        return output, hidden


class RNN(RNNBase):
    r"""Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked
    ``num_layers`` deep, optionally bidirectional, as torch.nn.RNN.

    Shapes: input (L, N, H_in) (batch_first: (N, L, H_in)), (L, H_in) unbatched, or a
    PackedSequence; h_0 (D * num_layers, N, H_out). Returns (output (L, N, D * H_out), h_n).

    >>> import ember
    >>> rnn = ember.nn.RNN(10, 20, 2)
    >>> output, hn = rnn(ember.randn(5, 3, 10), ember.randn(2, 3, 20))
    >>> output.shape, hn.shape
    (ember.Size([5, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_single_state(
            input, hx, "RNN: Expected input to be 2D or 3D, got {}D tensor instead")


class GRU(RNNBase):
    r"""Gated recurrent unit, as torch.nn.GRU::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Shapes as :class:`RNN`; weight rows are r, z, n.
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_single_state(
            input, hx, "GRU: Expected input to be 2D or 3D, got {}D instead")


class LSTM(RNNBase):
    r"""Long short-term memory, as torch.nn.LSTM::

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_i* x + b_i* + W_h* h + b_h*)
        c' = f * c + i * g
        h' = o * tanh(c')            (then h' = W_hr h' with proj_size > 0)

    Shapes: input as :class:`RNN`; (h_0 (D * num_layers, N, H_out), c_0 (D * num_layers, N,
    H_cell)). Returns (output, (h_n, c_n)); H_out = proj_size if > 0 else hidden_size.

    >>> import ember
    >>> lstm = ember.nn.LSTM(10, 20, 2)
    >>> output, (hn, cn) = lstm(ember.randn(5, 3, 10))
    >>> output.shape, hn.shape, cn.shape
    (ember.Size([5, 3, 20]), ember.Size([2, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        directions = 2 if self.bidirectional else 1
        return (self.num_layers * directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _permute(hx[0], permutation), _permute(hx[1], permutation)

    def forward(self, input, hx=None):
        orig_is_packed = isinstance(input, PackedSequence)
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        data, batch_sizes, sorted_indices, unsorted_indices, hx, is_batched = \
            self._unpack_input(input, hx, "LSTM: Expected input to be 2D or 3D, got {}D instead")
        if hx is None:
            batch = int(batch_sizes[0]) if orig_is_packed else \
                data.size(0 if self.batch_first else 1)
            hx = (self._zeros(data, batch, real_hidden_size),
                  self._zeros(data, batch, self.hidden_size))
            self.check_forward_args(data, hx, batch_sizes)
        else:
            if not orig_is_packed:
                want = 3 if is_batched else 2
                if hx[0].dim() != want or hx[1].dim() != want:
                    kind = "batched 3-D" if is_batched else "unbatched 2-D"
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D "
                                       f"but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                if not is_batched:
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
            else:
                hx = self.permute_hidden(hx, sorted_indices)
            self.check_forward_args(data, hx, batch_sizes)
        output, h_n, c_n = self._run(data, batch_sizes, hx[0], hx[1])
        hidden = (h_n, c_n)
        if orig_is_packed:
            return (PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        if not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = (h_n.squeeze(1), c_n.squeeze(1))
        return output, hidden


# --------------------------------------------------------------------------- cells

class RNNCellBase(Module):
    """weight_ih (chunks * hidden, input), weight_hh (chunks * hidden, hidden), bias_ih and
    bias_hh (or None), all U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = dict(device=device, dtype=dtype)
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check_dims(self, input, states, names):
        kind = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for name, state in zip(names, states):
            if state is not None and state.dim() not in (1, 2):
                raise ValueError(f"{kind}: Expected {name} to be 1D or 2D, got {state.dim()}D "
                                 "instead")

    def _step(self, mode, input, states):
        """One step of the fused layer over a batch (B, input_size): ATen's cell checks, then
        the states after the step."""
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        for k, state in enumerate(states):
            if input.size(0) != state.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{k} "
                                   f"batch size {state.size(0)}")
            if state.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got "
                                   f"{state.size(1)}, expected {self.hidden_size}")
        _check_state_dtypes((input, *states), self.weight_ih.dtype)
        sizes = np.array([input.size(0)], dtype=np.int64)
        c0 = states[1] if mode == "LSTM" else None
        out = _rnn.RNNLayer.apply(input, self.weight_ih, self.weight_hh, self.bias_ih,
                                  self.bias_hh, None, states[0], c0, mode, type(self).__name__,
                                  sizes, False)
        return (out[0], out[2]) if mode == "LSTM" else out[0]


def _single_state_cell(cell, mode, input, hx):
    cell._check_dims(input, (hx,), ("hidden",))
    is_batched = input.dim() == 2
    if not is_batched:
        input = input.unsqueeze(0)
    if hx is None:
        hx = zeros(input.size(0), cell.hidden_size, dtype=input.dtype)
    elif not is_batched:
        hx = hx.unsqueeze(0)
    ret = cell._step(mode, input, (hx,))
    return ret if is_batched else ret.squeeze(0)


class RNNCell(RNNCellBase):
    r"""h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), one step, as torch.nn.RNNCell.
    Input (N, input_size) or (input_size); hidden likewise."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            self._check_dims(input, (hx,), ("hidden",))
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return _single_state_cell(self, mode, input, hx)


class GRUCell(RNNCellBase):
    r"""One GRU step (see :class:`GRU`), as torch.nn.GRUCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return _single_state_cell(self, "GRU", input, hx)


class LSTMCell(RNNCellBase):
    r"""One LSTM step (see :class:`LSTM`), as torch.nn.LSTMCell: returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        self._check_dims(input, hx if hx is not None else (), ("hx[0]", "hx[1]"))
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            state = zeros(input.size(0), self.hidden_size, dtype=input.dtype)
            hx = (state, state)
        elif not is_batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        h, c = self._step("LSTM", input, tuple(hx))
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))
