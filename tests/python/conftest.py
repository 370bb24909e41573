"""Fixtures for the Python module's tests: the corpus (skipped with a message when absent, as the C++
end-to-end tests do, see tests/support/corpus.h) and the CLI of the same build to compare against.
scripts/run_tests.sh sets PYTHONPATH to BUILD/python and ONNXQ_CLI to BUILD/src/onnxquant."""
import json
import os
import pathlib
import subprocess

import pytest


def corpus_dir():
    env = os.environ.get("ONNXQ_CORPUS")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "onnxquant-corpus"


@pytest.fixture(scope="session")
def corpus():
    root = corpus_dir()
    if not (root / "models.json").exists():
        pytest.skip(f"corpus not found at {root} (build it with ../shared/corpus/build.sh or set ONNXQ_CORPUS)")
    return root


class Cli:
    """The onnxquant executable of the build under test."""

    def __init__(self, path):
        self.path = path

    def run(self, *args):
        return subprocess.run([self.path, *map(str, args)], capture_output=True, text=True)

    def json(self, *args):
        done = self.run("--format", "json", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("ONNXQ_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("ONNXQ_CLI does not name the onnxquant executable (scripts/run_tests.sh sets it)")
    return Cli(path)
