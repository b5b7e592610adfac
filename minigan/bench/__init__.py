"""minigan.bench: the benchmarks behind `minigan bench ops|kernels|dcgan`.

    ops       the engine's per-op Python overhead
    kernels   every conv layer of the DCGAN-28, per kernel, against PyTorch
    dcgan     the DCGAN-28 iteration against PyTorch's

They call library functions, never the command line.
"""
