"""Numba kernels: pure functions over numpy arrays (CSR arrays, factor matrices); no Python objects, no I/O."""
