"""The 8-bit ends of a job: decode and encode tables run the same on the CPU build."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.backends.cpu import CpuBackend
from kernels.backends.numpy_ref import NumpyBackend
from kernels.ops import transfer


@pytest.mark.parametrize("swap_rb", [False, True])
def test_decode_and_encode_match_the_reference_exactly(
    cpu: CpuBackend, ref: NumpyBackend, swap_rb: bool
) -> None:
    img8 = np.random.default_rng(5).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    linear = cpu.decode_u8(img8, transfer.srgb_decode_table(), swap_rb)
    np.testing.assert_array_equal(
        linear, ref.decode_u8(img8, transfer.srgb_decode_table(), swap_rb)
    )
    encoded = cpu.encode_u8(linear, transfer.srgb_encode_table(), swap_rb)
    np.testing.assert_array_equal(
        encoded, ref.encode_u8(linear, transfer.srgb_encode_table(), swap_rb)
    )
    # The 12-bit encode table is fine enough for every 8-bit code to survive the round trip.
    np.testing.assert_array_equal(encoded, img8)


def test_encode_clips_out_of_range_values(cpu: CpuBackend) -> None:
    img = np.array([[[-0.5, 0.5, 7.0]]], dtype=np.float32)
    assert cpu.encode_u8(img, transfer.srgb_encode_table()).tolist() == [[[0, 188, 255]]]
