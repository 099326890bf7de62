"""Services of the kernel: each an interface plus the providers that implement it."""
