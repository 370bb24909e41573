"""Ranges: calibration's product (the ranges file, docs/ranges-file.md) as a Python object."""
import json
import os

from . import _native


class Ranges:
    """Activation ranges of one model. `save(path)`/`Ranges.load(path)` read and write the same file as
    `onnxquant calibrate -o`; `quantize(..., ranges=obj)` uses them directly.

    `report` is the calibrate command's JSON report (samples, timings, ...) when the object comes from
    `calibrate()`, else None.
    """

    def __init__(self, native, report=None):
        self._file = native
        self.report = report

    @classmethod
    def load(cls, path):
        return cls(_native.RangesFile.load(os.fspath(path)))

    def save(self, path, histograms=None):
        """Writes the ranges file atomically. histograms: None keeps them when these ranges have them."""
        keep = self._file.has_histograms if histograms is None else bool(histograms)
        self._file.save(os.fspath(path), keep)

    def to_dict(self, histograms=False):
        """The ranges file's JSON as a dict."""
        return json.loads(self._file.to_json(bool(histograms)))

    @property
    def ranges(self):
        """{tensor name: (min, max)}: the selected range of every calibrated tensor."""
        return self._file.ranges()

    model_sha256 = property(lambda self: self._file.model_sha256)
    model_file = property(lambda self: self._file.model_file)
    method = property(lambda self: self._file.method)
    target = property(lambda self: self._file.target)
    samples = property(lambda self: self._file.samples)
    has_histograms = property(lambda self: self._file.has_histograms)

    def __len__(self):
        return len(self._file.ranges())

    def __repr__(self):
        return f"<onnxquant.Ranges {len(self)} tensors of {self.model_file} ({self.method}, {self.target}, {self.samples} samples)>"
