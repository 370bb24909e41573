"""Builds onnxquant._native with the project's CMake build (the same engine as the CLI), for the
Python running this script. Used by `pip install . --no-build-isolation` through pyproject.toml.

The CMake build folder is build/python-<config> in the source tree and is kept between installs, so a
reinstall only recompiles what changed. ONNXQ_BUILD_DIR=FOLDER instead reuses a folder already configured
with -DONNXQ_BUILD_PYTHON=ON (it is built, not reconfigured). ONNX Runtime's libonnxruntime.so.1 is copied into the package:
the module finds it beside itself ($ORIGIN rpath), not in this checkout.
"""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(onnxquant VERSION ([0-9.]+)", f.read()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("ONNXQ_BUILD_DIR")
        if not build_dir:
            config = os.environ.get("ONNXQ_BUILD_TYPE", "Release")
            build_dir = os.path.join(ROOT, "build", "python-" + config.lower())
            configure = ["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja", f"-DCMAKE_BUILD_TYPE={config}",
                         "-DONNXQ_BUILD_TESTS=OFF", "-DONNXQ_BUILD_PYTHON=ON", f"-DONNXQ_PYTHON={sys.executable}",
                         f"-DPYTHON_EXECUTABLE={sys.executable}"]
            subprocess.run(configure, check=True)
        jobs = os.environ.get("ONNXQ_JOBS", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", build_dir, "--target", "onnxquant_python", "-j", jobs], check=True)
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        built = os.path.join(build_dir, "python", "onnxquant", os.path.basename(target))
        shutil.copy2(built, target)
        runtime = os.path.join(ROOT, ".deps", "onnxruntime", "lib", "libonnxruntime.so.1")
        shutil.copy2(runtime, os.path.join(os.path.dirname(target), "libonnxruntime.so.1"))


setup(
    version=project_version(),
    ext_modules=[Extension("onnxquant._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
)
