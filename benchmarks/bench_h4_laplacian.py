"""H4 (issue 9): the Laplacian of a tanh MLP w.r.t. its input, hograd beside JAX and torch.

Run: python benchmarks/bench_h4_laplacian.py [--device gpu] [--calls N] [--core N]

- CPU: Δu = ∂²u/∂x₁² + ∂²u/∂x₂² of a 2-64-1 tanh MLP (Dense 2→64 tanh, Dense 64→1) at 256
  points, float64, one pinned core.
- GPU: the PINN's u_xx of a 1-64-64-1 tanh MLP at 1,048,576 points, float32.

hograd: ``hograd.laplacian`` (collapsed Taylor mode, one forward pass) and nested
``GradOperation`` (a gradient, then a Hessian-vector product per input direction), both Cells
in GRAPH_MODE. JAX: ``jax.jit`` of forward over forward (``jvp`` of ``jvp``) per direction —
the fastest of the formulations tried (jacfwd(jacrev) trace, forward over reverse, jet) — and
of vmap(trace(hessian)). torch: nested ``autograd.grad`` and torch.func's vmap(trace(hessian)).
The Laplacians are checked against a numpy one written by hand (to 1e-10 in float64).
The workload itself lives in ``_pinn.py``, shared with H5.
"""
from __future__ import annotations

import _pinn

if __name__ == "__main__":
    _pinn.main(step=False, script="bench_h4_laplacian")
