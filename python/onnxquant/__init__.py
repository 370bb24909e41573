"""onnxquant: quantize ONNX models for ONNX Runtime and prove the result.

The same engine and the same options as the `onnxquant` command line, in-process:

    import onnxquant, numpy as np
    ranges = onnxquant.calibrate("model.onnx", np.load("calib.npy"), method="entropy")
    report = onnxquant.quantize("model.onnx", "model_int8.onnx", static_int8=True, ranges=ranges)
    check = onnxquant.validate("model.onnx", "model_int8.onnx", input="eval.npy")

Errors raise onnxquant.Error subclasses (LoadError, DataError, ...) carrying the CLI's message,
.exit_code and .hint.
"""
from ._native import (  # noqa: F401  (re-exported)
    CalibrationError,
    DataError,
    Error,
    InternalError,
    IoError,
    LoadError,
    RuntimeError,
    UnsupportedOpError,
    UsageError,
    VerificationError,
    __version__,
)
from ._api import calibrate, inspect, quantize, validate  # noqa: F401
from ._ranges import Ranges  # noqa: F401

__all__ = ["calibrate", "inspect", "quantize", "validate", "Ranges", "Error", "UsageError", "LoadError", "UnsupportedOpError",
           "DataError", "IoError", "CalibrationError", "VerificationError", "InternalError", "__version__"]
