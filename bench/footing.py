"""What a baseline process runs on: the BLAS/LAPACK and OpenMP libraries mapped into it (read from
/proc/self/maps, symlinks resolved), OpenBLAS's own report when it is loaded, and the thread counts.
The bench runners compare this with torchnas's info() and refuse a ratio when the two sides differ."""
import ctypes
import os
import re

import torch


def _mapped(pattern):
    found = set()
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                at = line.find('/')
                if at < 0:
                    continue
                path = line[at:].strip()
                if not re.search(r'\.so(\.|$)', path) or not re.search(pattern, os.path.basename(path), re.I):
                    continue
                found.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(found)


def footing():
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # the BLAS is loaded and initialised
    openblas = None
    for soname in ('libopenblas.so.0', 'libopenblas.so'):
        try:
            lib = ctypes.CDLL(soname, mode=os.RTLD_NOLOAD | os.RTLD_NOW)
        except OSError:
            continue
        lib.openblas_get_config.restype = ctypes.c_char_p
        parallel = {0: 'sequential', 1: 'pthreads', 2: 'openmp'}.get(lib.openblas_get_parallel(), 'unknown')
        openblas = {'config': lib.openblas_get_config().decode(), 'parallel': parallel,
                    'threads': lib.openblas_get_num_threads()}
        break
    return {'blas': _mapped(r'blas|lapack|mkl_(rt|core|intel)|libflexiblas'), 'openmp': _mapped(r'^lib(g|i)?omp'),
            'openblas': openblas, 'threads': torch.get_num_threads()}
