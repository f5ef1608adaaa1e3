"""``deepseek.func``: composable function transforms, as ``torch.func``: grad, vjp, jvp,
Jacobians, Hessians, vmap, and calling a module with given parameters."""

from ..nn.utils.stateless import functional_call
from ._autodiff import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._functionalize import functionalize, replace_all_batch_norm_modules_
from ._module_state import stack_module_state
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev",
           "jacfwd", "hessian", "vmap", "stack_module_state", "functionalize",
           "replace_all_batch_norm_modules_"]
