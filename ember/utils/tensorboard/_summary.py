"""Summaries and projector files where tensorboardX's builders differ from torch's
(torch/utils/tensorboard/summary.py and _embedding.py): tensors (torch's dtype map), video
(torch clips to [0, 255]), audio (torch writes 16-bit wav with the standard library,
tensorboardX needs soundfile), mesh (torch's tags ``<tag>_VERTEX`` and the components bitmask
TensorBoard's mesh plugin reads), and the embedding projector's files (torch's sprite layout
and projector_config.pbtxt)."""
from __future__ import annotations

import io
import json
import math
import os
import wave

import numpy as np

__all__ = ["tensor_summary", "video", "audio", "mesh", "write_embedding", "projector_config_pbtxt"]


# -- tensor ------------------------------------------------------------------------------------

# NumPy dtype -> TensorProto dtype and value field (torch's _TENSOR_TYPE_MAP)
_TENSOR_TYPES = {
    np.dtype(np.float16): ("DT_HALF", "half_val"),
    np.dtype(np.float32): ("DT_FLOAT", "float_val"),
    np.dtype(np.float64): ("DT_DOUBLE", "double_val"),
    np.dtype(np.int8): ("DT_INT8", "int_val"),
    np.dtype(np.uint8): ("DT_UINT8", "uint32_val"),
    np.dtype(np.int16): ("DT_INT16", "int_val"),
    np.dtype(np.int32): ("DT_INT32", "int_val"),
    np.dtype(np.int64): ("DT_INT64", "int64_val"),
    np.dtype(np.complex64): ("DT_COMPLEX64", "scomplex_val"),
    np.dtype(np.complex128): ("DT_COMPLEX128", "dcomplex_val"),
    np.dtype(np.bool_): ("DT_BOOL", "bool_val"),
}


def tensor_summary(tag: str, array: np.ndarray):
    """torch's ``summary.tensor_proto``: the tensor's values in the field of its dtype."""
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    if array.nbytes >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if array.dtype not in _TENSOR_TYPES:
        raise ValueError(f"{tag} has unsupported tensor dtype {array.dtype}")
    dtype, field = _TENSOR_TYPES[array.dtype]
    flat = array.reshape(-1)
    if array.dtype.kind == "c":
        values = flat.view(flat.real.dtype).tolist()  # real, imaginary, real, ...
    elif array.dtype == np.float16:
        # torch stores each half as the int32 bit pattern of its float32 value
        values = flat.astype(np.float32).view(np.int32).tolist()
    else:
        values = flat.tolist()
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in array.shape])
    if field == "uint32_val":
        # tensorboardX's TensorProto lacks uint32_val (field 16, packed varints, the highest
        # field set): appended as serialised and kept as an unknown field, the bytes are torch's
        payload = b"".join(_varint(v) for v in values)
        proto = TensorProto.FromString(TensorProto(dtype=dtype, tensor_shape=shape).SerializeToString()
                                       + b"\x82\x01" + _varint(len(payload)) + payload)
    else:
        proto = TensorProto(dtype=dtype, tensor_shape=shape, **{field: values})
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata, tensor=proto)])


# -- video -------------------------------------------------------------------------------------


def video(tag: str, array: np.ndarray, fps):
    """torch's ``summary.video``: N x T x C x H x W, tiled into one clip, encoded as a gif."""
    from tensorboardX.proto.summary_pb2 import Summary
    from tensorboardX.summary import make_video
    from tensorboardX.utils import _prepare_video

    _require_moviepy()
    if array.ndim != 5:
        raise ValueError("add_video: vid_tensor should be 5-D (N, T, C, H, W), got shape "
                         f"{tuple(array.shape)}")
    frames = _prepare_video(array)  # uint8 becomes float in [0, 1] here, as in torch
    frames = (frames.astype(np.float32) * 255).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=make_video(frames, fps))])


def _require_moviepy() -> None:
    # torch prints this and writes an empty image; an error says it where it can be acted on
    try:
        import moviepy  # noqa: F401
    except ImportError as error:
        raise ImportError("add_video needs package moviepy") from error


# -- audio -------------------------------------------------------------------------------------


def audio(tag: str, array: np.ndarray, sample_rate: int):
    """torch's ``summary.audio``: one channel in [-1, 1] (clipped, with torch's warning) as
    16-bit PCM wav."""
    from tensorboardX.proto.summary_pb2 import Summary

    array = array.squeeze()
    if abs(array).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        array = array.clip(-1, 1)
    if array.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    array = (array * np.iinfo(np.int16).max).astype("<i2")
    with io.BytesIO() as fio:
        with wave.open(fio, "wb") as wave_write:
            wave_write.setnchannels(1)
            wave_write.setsampwidth(2)
            wave_write.setframerate(sample_rate)
            wave_write.writeframes(array.data)
        audio_string = fio.getvalue()
    value = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=array.shape[-1],
                          encoded_audio_string=audio_string, content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=value)])


# -- mesh --------------------------------------------------------------------------------------

_MESH_CONTENT = (("VERTEX", 1), ("FACE", 2), ("COLOR", 3))  # MeshPluginData.ContentType


def mesh(tag: str, vertices, colors, faces, config_dict):
    """torch's ``summary.mesh``: one float tensor summary per part given (B x N x 3 each)."""
    from tensorboardX.proto.plugin_mesh_pb2 import MeshPluginData
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    json_config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    parts = [(array, name, code) for array, (name, code)
             in zip((vertices, faces, colors), _MESH_CONTENT) if array is not None]
    components = 0
    for _, _, code in parts:
        components |= 1 << code
    values = []
    for array, name, code in parts:
        if array.ndim != 3:
            raise ValueError(f"Tensor shape should be of shape BxNx3, but got {tuple(array.shape)}.")
        content = MeshPluginData(version=0, name=tag, content_type=code, json_config=json_config,
                                 shape=array.shape).SerializeToString()
        # tensorboardX's MeshPluginData lacks field 7 (components), the last field of
        # TensorBoard's: appended as serialised (a varint), the bytes are TensorBoard's
        content += b"\x38" + _varint(components)
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="mesh",
                                                                          content=content))
        tensor = TensorProto(dtype="DT_FLOAT", float_val=array.reshape(-1).tolist(),
                             tensor_shape=TensorShapeProto(
                                 dim=[TensorShapeProto.Dim(size=d) for d in array.shape]))
        values.append(Summary.Value(tag=f"{tag}_{name}", tensor=tensor, metadata=metadata))
    return Summary(value=values)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


# -- embedding projector -----------------------------------------------------------------------


def write_embedding(save_path: str, mat: np.ndarray, metadata, label_img, metadata_header) -> None:
    """tensors.tsv, metadata.tsv and sprite.png in ``save_path``, as torch writes them."""
    if metadata is not None:
        _write_tsv(metadata, save_path, metadata_header)
    if label_img is not None:
        _write_sprite(label_img, save_path)
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        for row in mat:
            f.write(("\t".join(str(x.item()) for x in row) + "\n").encode())


def _write_tsv(metadata, save_path: str, metadata_header) -> None:
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def _write_sprite(label_img: np.ndarray, save_path: str) -> None:
    """The images tiled in a square grid (ceil(sqrt(N)) a row), rows padded at the bottom to a
    square sprite, floats taken in [0, 1] (torch's layout)."""
    from PIL import Image

    nrow = math.ceil(label_img.shape[0] ** 0.5)
    grid_chw = _make_grid(label_img, ncols=nrow)
    square = np.zeros((grid_chw.shape[2], grid_chw.shape[2], 3))
    grid_hwc = grid_chw.transpose(1, 2, 0)
    square[:grid_hwc.shape[0], :, :] = grid_hwc
    Image.fromarray(np.uint8((square * 255).clip(0, 255))).save(
        os.path.join(save_path, "sprite.png"), format="PNG")


def _make_grid(images: np.ndarray, ncols: int) -> np.ndarray:
    """torch's ``_utils.make_grid``: N x 1|3 x H x W -> 3 x H*rows x W*cols."""
    if images.ndim == 4 and images.shape[1] == 1:
        images = np.concatenate([images, images, images], 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = int(np.ceil(float(n) / ncols))
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=images.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = images[i]
    return canvas


def projector_config_pbtxt(embeddings: list[dict]) -> str:
    """ProjectorConfig in protobuf text format, as ``text_format.MessageToString`` prints it
    (fields in field-number order; tensorboardX has no ProjectorConfig message, and the
    tensorboard package is not a dependency)."""
    from google.protobuf.text_encoding import CEscape

    def string(value: str) -> str:
        return '"' + CEscape(value.encode("utf-8"), False) + '"'

    out = []
    for info in embeddings:
        out.append("embeddings {\n")
        out.append(f"  tensor_name: {string(info['tensor_name'])}\n")
        if "metadata_path" in info:
            out.append(f"  metadata_path: {string(info['metadata_path'])}\n")
        if "sprite_path" in info:
            out.append("  sprite {\n")
            out.append(f"    image_path: {string(info['sprite_path'])}\n")
            for d in info["single_image_dim"]:
                out.append(f"    single_image_dim: {d}\n")
            out.append("  }\n")
        out.append(f"  tensor_path: {string(info['tensor_path'])}\n")
        out.append("}\n")
    return "".join(out)
