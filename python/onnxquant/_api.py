"""The public functions. Each builds the command line a CLI user would type (the same option names,
see _options.py), runs it in this process with the CLI's own parser and engine, and returns the JSON
report as a dict. Only calibration data given in memory takes another path: it is handed to the engine
sample by sample (pipeline/calibrate_job.h, SampleProvider) instead of through -i.
"""
import contextlib
import json
import os
import tempfile

from . import _data, _errors, _native
from ._options import to_arguments
from ._ranges import Ranges


class _Scratch(contextlib.ExitStack):
    """A private temp folder (mode 0700) for models given as bytes, ranges objects and the ranges file
    calibrate writes; removed when the call ends."""

    def __init__(self):
        super().__init__()
        self._dir = None  # made on first use: most calls need none

    def folder(self):
        if self._dir is None:
            self._dir = self.enter_context(tempfile.TemporaryDirectory(prefix="onnxquant-"))
        return self._dir

    def model_path(self, model, name):
        """A path for `model`: a path as is, bytes written to a temp file."""
        if isinstance(model, (bytes, bytearray, memoryview)):
            path = os.path.join(self.folder(), name + ".onnx")
            with open(path, "wb") as f:
                f.write(model)
            return path
        return os.fspath(model)

    def ranges_path(self, ranges):
        if isinstance(ranges, Ranges):
            path = os.path.join(self.folder(), "ranges.json")
            ranges.save(path, histograms=False)
            return path
        return ranges


_ACTIVATION_TARGETS = {"uint8": "uint8_asymmetric", "int8": "int8_symmetric"}


def _is_path(data):
    return isinstance(data, (str, os.PathLike))


def _run(command, positional, options, samples=None, count=-1):
    args = ["--format", "json", command, *positional, *to_arguments(options)]
    exit_code, out = _native.run(args, samples, count)
    report = json.loads(out) if out.strip() else {}
    return exit_code, report


def inspect(model, **options):
    """`onnxquant inspect MODEL` as a dict. model: a path or the model's bytes."""
    with _Scratch() as scratch:
        return _run("inspect", [scratch.model_path(model, "model")], options)[1]


def calibrate(model, data=None, **options):
    """Activation ranges of `model` on `data`, as a Ranges object.

    data: a NumPy array (single-input models; axis 0 counts samples, as for a .npy file), a dict
    {input name: array}, any iterable of such dicts (a generator, a data loader), a path (what -i takes),
    or None for synthetic data. options: those of `onnxquant calibrate` (method="entropy",
    target="int8_symmetric", histograms=True, samples=100, ...); output= also writes the ranges file.
    """
    with _Scratch() as scratch:
        model_path = scratch.model_path(model, "model")
        output = options.pop("output", None)
        ranges_file = os.path.join(scratch.folder(), "calibrated.json")
        samples, count = None, -1
        if data is not None and _is_path(data):
            options = {"input": data, **options}
        elif data is not None:
            samples, count = _data.sample_stream(data, _native.model_inputs(model_path))
        _, report = _run("calibrate", [model_path, "--output", ranges_file], options, samples, count)
        ranges = Ranges.load(ranges_file)
        if output is not None:
            ranges.save(output)
            report["output"] = os.fspath(output)
        else:
            report["output"] = None
        ranges.report = report
        return ranges


def quantize(model, output=None, **options):
    """`onnxquant quantize MODEL -o OUTPUT ...` as a dict (the JSON report).

    Options are the CLI's: static_int8=True, ranges=PATH or a Ranges object, input=PATH, method=...,
    per_tensor=True, exclude=[...], dry_run=True (output may then be None), ... `data=` takes in-memory
    calibration data as calibrate() does: the model is calibrated first with the same method.
    """
    with _Scratch() as scratch:
        model_path = scratch.model_path(model, "model")
        data = options.pop("data", None)
        if data is not None and _is_path(data):
            options = {"input": data, **options}
        elif data is not None:
            if options.get("ranges") is not None:
                raise _errors.usage_error("quantize: give data= or ranges=, not both")
            # What `quantize -i` does (pipeline/quantize_job.cpp): ranges for the activation type asked for.
            calib_options = {k: options[k] for k in ("method", "threads", "samples") if k in options}
            calib_options["target"] = _ACTIVATION_TARGETS.get(options.get("activation_type", "uint8"), "uint8_asymmetric")
            options["ranges"] = calibrate(model_path, data, **calib_options)
        if "ranges" in options:
            options["ranges"] = scratch.ranges_path(options["ranges"])
        positional = [model_path] + (["--output", os.fspath(output)] if output is not None else [])
        return _run("quantize", positional, options)[1]


def validate(reference, candidate, **options):
    """`onnxquant validate REFERENCE CANDIDATE ...` as a dict (the JSON report). Models are paths or
    bytes; input=PATH, samples=N, per_layer=True, timed=N, ... as in the CLI. With fail_below=X the
    report's "passed" says whether the threshold held (the CLI's exit code 1)."""
    with _Scratch() as scratch:
        paths = [scratch.model_path(reference, "reference"), scratch.model_path(candidate, "candidate")]
        return _run("validate", paths, options)[1]
