"""Module namespaces of eager-mode quantization, spelled as ``torch.ao.nn``: ``intrinsic``
(fused float modules), ``qat`` (fake-quantized training modules), ``quantized`` (converted)."""
