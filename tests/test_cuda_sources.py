"""Every CUDA source minigan.kernels hands to CuPy compiles with nvcc (no GPU needed).

.cu files are compiled as they are; ElementwiseKernel bodies are wrapped in a small
extern "C" __global__ function (in-params by value, out-params by reference, index `i`)
instantiated for float and double, which is what CuPy generates around them.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

from minigan import kernels

NVCC = shutil.which("nvcc") or ("/usr/local/bin/nvcc" if Path("/usr/local/bin/nvcc").exists() else None)
pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not installed")

CTYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long", "bool": "bool"}


def nvcc_compile(source, tmp_path, name):
    src = tmp_path / f"{name}.cu"
    src.write_text(source)
    cmd = [NVCC, "--ptx", "-arch=sm_80", "-Werror", "all-warnings", "-o", str(tmp_path / f"{name}.ptx"), str(src)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, f"nvcc failed on {name}:\n{out.stderr}\n--- source ---\n{source}"
    return (tmp_path / f"{name}.ptx").read_text()


def elementwise_wrapper(name, in_params, out_params, body, T):
    def params(spec):
        for item in spec.split(","):
            ctype, pname = item.split()
            yield (T if ctype == "T" else CTYPES[ctype]), pname
    args = [f"{c} {p}" for c, p in params(in_params)]
    args += [f"{c}* {p}_ptr" for c, p in params(out_params)]
    refs = "".join(f"    {c}& {p} = {p}_ptr[i];\n" for c, p in params(out_params))
    return (f"typedef {T} T;\n"
            f'extern "C" __global__ void {name}_{T}({", ".join(args)}, long long n) {{\n'
            f"    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
            f"    if (i >= n) return;\n{refs}{body}\n}}\n")


def test_there_are_cuda_sources():
    assert kernels.CUDA_SOURCES, "CUDA_SOURCES is empty"
    cu_files = sorted(p.name for p in Path(kernels.__file__).parent.glob("*.cu"))
    listed = sorted(k for k, v in kernels.CUDA_SOURCES.items() if v["kind"] == "file")
    assert cu_files == listed, "every .cu file in kernels/ is listed in CUDA_SOURCES"


@pytest.mark.parametrize("name", sorted(kernels.CUDA_SOURCES))
def test_cuda_source_compiles(name, tmp_path):
    entry = kernels.CUDA_SOURCES[name]
    if entry["kind"] == "file":
        ptx = nvcc_compile(Path(entry["path"]).read_text(), tmp_path, Path(name).stem)
        for fn in entry["names"]:        # the names CuPy's RawKernel asks for exist, unmangled
            assert f".entry {fn}(" in ptx, f"{fn} missing from {name}"
    else:
        for T in ("float", "double"):
            src = elementwise_wrapper(name, entry["in_params"], entry["out_params"], entry["body"], T)
            nvcc_compile(src, tmp_path, f"{name}_{T}")
