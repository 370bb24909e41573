"""Raising onnxquant's exceptions from Python code, with the attributes the engine's carry."""
from . import _native

_EXIT_CODES = {"usage": 2, "data": 5}


def _make(cls, kind, message, hint):
    error = cls(message)
    error.kind = kind
    error.exit_code = _EXIT_CODES[kind]
    error.hint = hint
    return error


def usage_error(message, hint=""):
    return _make(_native.UsageError, "usage", message, hint)


def data_error(message, hint=""):
    return _make(_native.DataError, "data", message, hint)
