"""H5 (issue 9): a PINN training step, d mean(Δu²)/dW, hograd beside JAX and torch.

Run: python benchmarks/bench_h5_pinn_step.py [--device gpu] [--calls N] [--core N]

The gradient of mean(Δu²) w.r.t. every weight and bias of the network of H4
(``bench_h4_laplacian.py``): on the CPU a 2-64-1 tanh MLP at 256 points in float64 on one
pinned core, on the GPU the PINN's mean(u_xx²) of a 1-64-64-1 tanh MLP at 1,048,576 points in
float32.

hograd: ``GradOperation(get_by_list=True)`` of the loss through ``hograd.laplacian`` and
through nested ``GradOperation``. JAX: ``jax.jit(jax.grad)`` of the loss through each of its
two Laplacians; torch: ``autograd.grad`` of the loss through nested ``autograd.grad``
(create_graph) and torch.func's ``grad`` through vmap(trace(hessian)). The gradients are
checked against the first peer's (to 1e-10 in float64), which is checked against central
differences of a numpy loss written by hand.
"""
from __future__ import annotations

import _pinn

if __name__ == "__main__":
    _pinn.main(step=True, script="bench_h5_pinn_step")
