"""Calibration data given in memory, as the stream of samples the engine pulls one at a time.

A NumPy array (single-input models), a dict {input name: array}, or any iterable of dicts (a generator,
a data loader). Arrays are cut into samples the way the CLI cuts a .npy file (io/source.h): one rank more
than the input, axis 0 counts samples; the input's rank, axis 0 is cut into batches of the input's batch
size (its fixed first dim, else 1).
"""
import numpy as np

from . import _errors


def _input_by_name(model_inputs, name):
    for info in model_inputs:
        if info["name"] == name:
            return info
    names = ", ".join(i["name"] for i in model_inputs)
    raise _errors.data_error(f"the model has no input '{name}' (inputs: {names})")


def _rows(name, array, info):
    """Samples of one input from one array, as a list of views."""
    rank = len(info["shape"])
    if array.ndim == rank + 1:
        return [array[i] for i in range(array.shape[0])]
    if array.ndim == rank and rank > 0:
        batch = info["shape"][0] if info["shape"][0] > 0 else 1
        if array.shape[0] % batch:
            raise _errors.data_error(f"input '{name}': {array.shape[0]} rows are not a whole number of batches of {batch}")
        return [array[i : i + batch] for i in range(0, array.shape[0], batch)]
    if array.ndim == 0 and rank == 0:
        return [array]
    raise _errors.data_error(
        f"input '{name}': an array of rank {array.ndim} cannot feed an input of rank {rank}",
        f"give rank {rank + 1} (a stack of samples) or rank {rank} (batches along axis 0)",
    )


def _from_arrays(arrays, model_inputs):
    rows = {name: _rows(name, np.asarray(a), _input_by_name(model_inputs, name)) for name, a in arrays.items()}
    counts = {name: len(r) for name, r in rows.items()}
    if len(set(counts.values())) > 1:
        raise _errors.data_error(f"the arrays hold different numbers of samples: {counts}")
    count = next(iter(counts.values()), 0)
    samples = ({name: np.ascontiguousarray(r[i]) for name, r in rows.items()} for i in range(count))
    return samples, count


def _from_iterable(data, model_inputs):
    only_input = model_inputs[0]["name"] if len(model_inputs) == 1 else None

    def samples():
        for item in data:
            if isinstance(item, np.ndarray) and only_input is not None:
                item = {only_input: item}
            if isinstance(item, dict):
                item = {name: np.ascontiguousarray(value) for name, value in item.items()}
            yield item  # anything else is rejected by the engine with a DataError

    try:
        count = len(data)
    except TypeError:
        count = -1
    return samples(), count


def sample_stream(data, model_inputs):
    """(iterator of {input name: C-contiguous array}, number of samples or -1 when unknown)."""
    if isinstance(data, np.ndarray):
        if len(model_inputs) != 1:
            names = ", ".join(i["name"] for i in model_inputs)
            raise _errors.usage_error(
                f"one array given for a model with {len(model_inputs)} inputs ({names})",
                "give a dict {input name: array}",
            )
        data = {model_inputs[0]["name"]: data}
    if isinstance(data, dict):
        return _from_arrays(data, model_inputs)
    return _from_iterable(data, model_inputs)
