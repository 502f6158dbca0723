"""The Ascend device through torch_npu. Not yet implemented: its kernels and device declaration
are the subject of the device-plugins issue; until then this package registers nothing."""
