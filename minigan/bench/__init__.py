"""minigan.bench: the benchmarks behind `minigan bench ops|kernels|dcgan` (options: cli/bench.py).

    ops          the engine's per-op Python overhead (one process)
    kernels      every conv layer of the DCGAN-28, per op, minigan against PyTorch
    dcgan        the DCGAN-28 iteration against PyTorch's, and where minigan's time goes

How kernels and dcgan time (processes.py): each framework in its own child process
(child.py), alternating over rounds, medians; the children run without the OpenBLAS
overrides and describe what ran (machine.py). dcgan_step.py is the iteration, written once
for both frameworks; breakdown.py groups a cProfile of it into parts.
They call library functions, never the command line.
"""
