"""Writes corpus/weights_pytorch/tiny.bin: the tiny fuzz model's f32 safetensors seed re-saved as
PyTorch's zip format (`torch.save` of a state dict), without needing torch: the pickle names
torch's rebuild function and storage class exactly as torch.save does, from stand-in modules.
Run after `cargo test --test fuzz_corpus -- --ignored write_weights_seeds`."""

import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path

here = Path(__file__).parent
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
sys.modules.update({"torch": torch, "torch._utils": torch_utils})


class FloatStorage:
    pass


def _rebuild_tensor_v2(*args):
    raise NotImplementedError("only pickled, never loaded")


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage
_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride, step = [], 1
        for dim in reversed(self.shape):
            stride.insert(0, step)
            step *= dim
        args = (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict())
        return (_rebuild_tensor_v2, args)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


raw = (here / "corpus/weights_safetensors/tiny_f32.safetensors").read_bytes()
(header_len,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8 : 8 + header_len])
data = raw[8 + header_len :]
state, blobs = collections.OrderedDict(), {}
for index, (name, info) in enumerate(sorted((k, v) for k, v in header.items() if k != "__metadata__")):
    start, end = info["data_offsets"]
    key = str(index)
    blobs[key] = data[start:end]
    state[name] = Tensor(Storage(key, (end - start) // 4), info["shape"])
pickled = io.BytesIO()
Pickler(pickled, protocol=2).dump(state)
out = io.BytesIO()
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
    archive.writestr("archive/data.pkl", pickled.getvalue())
    archive.writestr("archive/byteorder", "little")
    for key, blob in blobs.items():
        archive.writestr(f"archive/data/{key}", blob)
    archive.writestr("archive/version", "3\n")
target = here / "corpus/weights_pytorch/tiny.bin"
target.parent.mkdir(exist_ok=True)
target.write_bytes(out.getvalue())
