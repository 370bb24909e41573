"""Keyword arguments become the CLI's own arguments (no corpus needed)."""
import pathlib

import pytest

import onnxquant
from onnxquant._options import to_arguments


def test_keywords_map_to_long_options():
    args = to_arguments({"method": "entropy", "static_int8": True, "per_tensor": False, "plan_out": None, "samples": 8})
    assert args == ["--method", "entropy", "--static-int8", "--samples", "8"]


def test_lists_repeat_and_dicts_become_name_value_items():
    args = to_arguments({"exclude": ["Softmax", "Conv_0"], "input_shape": {"x": [1, 3, 640, 640]}, "dim": {"batch": 2},
                         "input": pathlib.Path("/d/eval.npy")})
    assert args == ["--exclude", "Softmax", "--exclude", "Conv_0", "--input-shape", "x=1,3,640,640", "--dim", "batch=2",
                    "--input", "/d/eval.npy"]


def test_format_is_reserved():
    with pytest.raises(TypeError):
        to_arguments({"format": "text"})


def test_every_error_kind_derives_from_error():
    kinds = [onnxquant.UsageError, onnxquant.LoadError, onnxquant.UnsupportedOpError, onnxquant.DataError, onnxquant.RuntimeError,
             onnxquant.IoError, onnxquant.CalibrationError, onnxquant.VerificationError, onnxquant.InternalError]
    assert all(issubclass(k, onnxquant.Error) for k in kinds)
    assert issubclass(onnxquant.Error, Exception)


def test_unknown_option_is_the_clis_usage_error():
    with pytest.raises(onnxquant.UsageError) as info:
        onnxquant.inspect("/nonexistent.onnx", no_such_option=3)
    assert info.value.exit_code == 2
    assert "--no-such-option" in str(info.value)
    assert info.value.hint == "run 'onnxquant --help' or 'onnxquant COMMAND --help'"
