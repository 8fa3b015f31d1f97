"""Develop operations: parameter packing for the CUDA sources and the NumPy references."""
