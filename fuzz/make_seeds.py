#!/usr/bin/python3
"""Writes the seed corpora for the fuzz targets into fuzz/seeds/TARGET/ (small, valid files of each
format plus a few edge cases), so the fuzzer starts from inputs that pass the first checks. Deterministic:
run it again and the files are byte-identical. Needs numpy, onnx and PIL (Debian python3-numpy, the
onnx Python module of libonnx's version, python3-pil)."""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def npz_bytes(arrays, compressed):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def models():
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    w = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "w")
    b = helper.make_tensor("b", TensorProto.FLOAT, [4], [0.5, -0.5, 1.0, 2.0])  # float_data, not raw
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "b"], ["a"], name="add"),
             helper.make_node("Relu", ["a"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "g", [x], [y], [w, b])
    put("model", "matmul_add_relu.onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())

    # An If with subgraphs reading an outer-scope tensor, and a Constant node holding a weight.
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    const = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.ones((2, 2), np.float32)))
    iff = helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g, name="if")
    graph = helper.make_graph([const, iff], "g", [cond, helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    put("model", "if_subgraphs.onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())

    # External data (the fuzzer's folder has no such file: the reference itself is what gets mutated).
    ext = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 4])
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "model.onnx.data"), ("offset", "0"), ("length", "64")):
        entry = ext.external_data.add()
        entry.key, entry.value = k, v
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [ext])
    put("model", "external_data.onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())


def arrays():
    put("npy", "f32_2x3.npy", npy_bytes(np.arange(6, dtype=np.float32).reshape(2, 3)))
    put("npy", "u8_scalar.npy", npy_bytes(np.uint8(7)))
    put("npy", "f16_fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 2), np.float16))))
    put("npy", "i64_empty.npy", npy_bytes(np.zeros((0, 3), np.int64)))
    put("npz", "stored.npz", npz_bytes({"x": np.arange(4, dtype=np.float32), "y": np.ones((2, 2), np.int64)}, False))
    put("npz", "deflated.npz", npz_bytes({"x": np.arange(64, dtype=np.float32).reshape(8, 8)}, True))

    def safetensors(tensors):
        header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
        for name, array in tensors.items():
            data = array.tobytes()
            code = {np.float32: "F32", np.float16: "F16", np.int64: "I64", np.uint8: "U8"}[array.dtype.type]
            header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
            blobs.append(data)
            offset += len(data)
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        return struct.pack("<Q", len(text)) + text + b"".join(blobs)

    put("safetensors", "two.safetensors", safetensors({"x": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.arange(3, dtype=np.int64)}))
    put("safetensors", "scalar_f16.safetensors", safetensors({"s": np.array(1.5, np.float16), "b": np.zeros((2, 0), np.uint8)}))

    # raw: [input dtype][rank][dims as u16 LE, 0xff.. = symbolic][raw rank][dims][dim flag] then the file.
    def dims(*values):
        return b"".join(struct.pack("<H", v) for v in values)
    put("raw", "f32_1x3x2x2.bin", bytes([0, 4]) + dims(1, 3, 2, 2) + bytes([0, 0]) + np.arange(12, dtype=np.float32).tobytes())
    put("raw", "f16_batch_rawshape.bin", bytes([1, 2]) + dims(0xFF00, 4) + bytes([3]) + dims(2, 4) + bytes([0]) + np.ones(8, np.float32).tobytes())


def images():
    from PIL import Image

    rgb = Image.frombytes("RGB", (8, 6), bytes(range(144)))
    for name, image, fmt, extra in (("rgb.jpg", rgb, "JPEG", {"quality": 90}),
                                    ("gray.jpg", rgb.convert("L"), "JPEG", {}),
                                    ("rgb.png", rgb, "PNG", {}),
                                    ("rgba.png", rgb.convert("RGBA"), "PNG", {}),
                                    ("palette.png", rgb.convert("P"), "PNG", {})):
        buf = io.BytesIO()
        image.save(buf, fmt, **extra)
        put("image", name, buf.getvalue())
    # A JPEG with an EXIF orientation tag (6: rotate 90).
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", exif=exif.tobytes())
    put("image", "exif_rotated.jpg", buf.getvalue())


if __name__ == "__main__":
    models()
    arrays()
    images()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"seeds: {total} bytes in {ROOT}", file=sys.stderr)
