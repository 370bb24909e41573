"""The Python module against the CLI of the same build on a corpus model: the same data must give the same
ranges, the same plan and model, and the same validation numbers. squeezenet1_1 (input [1,3,224,224]) and
the first samples of data/imagenet224, kept small because the test build runs under ASan."""
import hashlib
import threading
import time

import numpy as np
import pytest

import onnxquant

CALIB_SAMPLES = 8
EVAL_SAMPLES = 4


@pytest.fixture(scope="module")
def model(corpus):
    return corpus / "torch" / "squeezenet1_1.onnx"


@pytest.fixture(scope="module")
def data(corpus):
    return corpus / "data" / "imagenet224"


@pytest.fixture(scope="module")
def calib(data):
    return np.load(data / "calib.npy", mmap_mode="r")[:CALIB_SAMPLES]


@pytest.fixture(scope="module")
def cli_ranges(cli, model, data, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "ranges.json"
    cli.json("calibrate", model, "-i", data / "calib.npy", "-n", CALIB_SAMPLES, "-m", "entropy", "-o", path)
    return onnxquant.Ranges.load(path)


@pytest.fixture(scope="module")
def py_ranges(model, calib):
    return onnxquant.calibrate(model, calib, method="entropy")


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_calibrate_from_numpy_matches_the_cli(py_ranges, cli_ranges):
    assert py_ranges.samples == CALIB_SAMPLES
    assert py_ranges.method == "entropy" and py_ranges.target == "uint8_asymmetric"
    assert len(py_ranges) == len(cli_ranges) == 40  # squeezenet1_1: the tensors its Conv/Concat/pool placement reads
    assert py_ranges.ranges == cli_ranges.ranges  # exactly: the same samples reach the same observers
    assert py_ranges.model_sha256 == cli_ranges.model_sha256
    assert py_ranges.report["samples"] == CALIB_SAMPLES and py_ranges.report["tensors"] == len(cli_ranges)


def test_calibrate_from_a_generator_of_dicts_matches_the_array(model, calib, py_ranges):
    def loader():  # what a user's data loader looks like: one dict per sample, batch 1
        for row in calib:
            yield {"input": row[np.newaxis]}

    ranges = onnxquant.calibrate(model, loader(), method="entropy")
    assert ranges.report["samples"] == CALIB_SAMPLES
    assert ranges.ranges == py_ranges.ranges


def test_ranges_save_load_round_trip(py_ranges, tmp_path):
    py_ranges.save(tmp_path / "r.json")
    loaded = onnxquant.Ranges.load(tmp_path / "r.json")
    assert loaded.ranges == py_ranges.ranges
    d = loaded.to_dict()
    assert d["format"] == "onnxquant-ranges" and len(d["tensors"]) == len(py_ranges)


def test_quantize_and_validate_match_the_cli(cli, model, data, py_ranges, cli_ranges, tmp_path):
    cli_ranges_file = tmp_path / "cli_ranges.json"
    cli_ranges.save(cli_ranges_file)
    cli_out, py_out = tmp_path / "cli_int8.onnx", tmp_path / "py_int8.onnx"
    cli_report = cli.json("quantize", model, "--static-int8", "--ranges", cli_ranges_file, "-o", cli_out)
    py_report = onnxquant.quantize(model, py_out, static_int8=True, ranges=py_ranges)

    assert py_report["plan"] == cli_report["plan"]
    assert py_report["verification"]["cosine"] == cli_report["verification"]["cosine"] > 0.9
    assert py_report["fusion"]["by_op"] == cli_report["fusion"]["by_op"]
    assert py_report["fusion"]["integer_kernels"] == cli_report["fusion"]["integer_kernels"]
    assert sum(py_report["fusion"]["integer_kernels"].values()) > 0
    assert sha256(py_out) == sha256(cli_out)  # the same model, byte for byte

    cli_check = cli.json("validate", model, cli_out, "-i", data / "eval.npy", "-n", EVAL_SAMPLES, "--timed", 0)
    py_check = onnxquant.validate(model, py_out, input=data / "eval.npy", samples=EVAL_SAMPLES, timed=0)
    assert py_check["samples"] == EVAL_SAMPLES
    for py_o, cli_o in zip(py_check["outputs"], cli_check["outputs"], strict=True):
        assert py_o["name"] == cli_o["name"] == "logits"
        assert py_o["cosine_mean"] == cli_o["cosine_mean"] > 0.9
        assert py_o["cosine_min"] == cli_o["cosine_min"]
    assert py_check["verdict"] == cli_check["verdict"]


def test_html_report_names_the_command_python_ran(model, data, tmp_path):
    onnxquant.validate(model, model, input=data / "eval.npy", samples=2, timed=0, report=tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert f"<pre>onnxquant --format json validate {model} {model} --input {data / 'eval.npy'} --samples 2" in html


def test_quantize_from_in_memory_data_equals_calibrate_then_quantize(model, calib, py_ranges, tmp_path):
    # Round-to-nearest on both sides: with data, the default is GPTQ rounding, which the ranges file alone
    # cannot give.
    direct = onnxquant.quantize(model, tmp_path / "a.onnx", static_int8=True, data=calib, method="entropy", rounding="nearest")
    staged = onnxquant.quantize(model, tmp_path / "b.onnx", static_int8=True, ranges=py_ranges)
    assert direct["plan"] == staged["plan"]
    assert sha256(tmp_path / "a.onnx") == sha256(tmp_path / "b.onnx")


def test_model_given_as_bytes(model):
    from_bytes = onnxquant.inspect(model.read_bytes())
    from_path = onnxquant.inspect(model)
    assert from_bytes["ops"] == from_path["ops"] and from_bytes["ops"]["Conv"] == 26
    assert from_bytes["parameters"] == from_path["parameters"]
    assert from_bytes["size"] == from_path["size"]


def test_errors_carry_the_clis_message_and_exit_code(cli, tmp_path):
    missing = tmp_path / "missing.onnx"
    done = cli.run("inspect", missing)
    with pytest.raises(onnxquant.LoadError) as info:
        onnxquant.inspect(missing)
    assert info.value.exit_code == done.returncode == 3
    assert done.stderr.splitlines()[0] == f"onnxquant: load error: {info.value}"


def test_wrong_array_shape_is_a_data_error(model):
    with pytest.raises(onnxquant.DataError) as info:
        onnxquant.calibrate(model, np.zeros((2, 3, 32, 32), np.float32))
    assert info.value.exit_code == 5
    assert str(info.value) == "calibration sample 0: a sample has shape [1,3,32,32], input 'input' wants [1,3,224,224] (dim 2)"


def test_data_loader_exceptions_reach_the_caller(model, calib):
    def broken():
        yield {"input": np.ascontiguousarray(calib[:1])}
        raise KeyError("the user's loader failed")

    with pytest.raises(KeyError, match="the user's loader failed"):
        onnxquant.calibrate(model, broken())


def test_the_gil_is_released_during_long_work(model, data):
    """Another Python thread keeps running while validate works in ORT."""
    ticks = 0
    worker = threading.Thread(target=onnxquant.validate, args=(model, model), kwargs={"input": data / "eval.npy", "samples": 4, "timed": 0})
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert ticks > 20
