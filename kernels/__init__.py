"""Compute kernels shared by the web process, CPU/GPU workers and the CLI. Never imports Django."""
