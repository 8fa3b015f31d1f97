"""The primitives every backend provides. Operations and the pipeline are written once on top
of these; the NumPy backend defines their meaning, the CPU and CUDA backends run the same CUDA
sources fast."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernels.ops.stage import PixelStage

if TYPE_CHECKING:
    from kernels.params import Mask


@dataclass(frozen=True)
class U8Ends:
    """The two ends of an 8-bit image -> 8-bit image pass (kernels/cuda/u8_ends_cpu.h): in,
    codes -> `lin` (256 float32, the file's curve) -> `to_working` (3x3); out, `from_working`
    (3x3) -> clip to [0, 1] -> `lut` (int32 codes in 8.8 fixed point, indexed by
    round(v * (len - 1))) -> + `noise` (rows x width x 3 uint16 in 1/256 steps, image row y
    takes row y % rows) -> integer part."""

    lin: np.ndarray
    to_working: np.ndarray
    from_working: np.ndarray
    lut: np.ndarray
    noise: np.ndarray

    @classmethod
    def transfer(cls, decode_table: np.ndarray, encode_table: np.ndarray, width: int) -> U8Ends:
        """A transfer curve at each end and nothing else, as decode_u8 and encode_u8 apply
        them: identity matrices (exact), the uint8 table in 8.8 and half a step of noise
        (round to nearest: the table's own value)."""
        eye = np.eye(3, dtype=np.float32)
        return cls(
            lin=np.ascontiguousarray(decode_table, dtype=np.float32),
            to_working=eye,
            from_working=eye,
            lut=np.asarray(encode_table, dtype=np.int32) << 8,
            noise=np.full((1, width, 3), 128, dtype=np.uint16),
        )


class Backend(ABC):
    name: str
    # Whether pixel_stages_u8 runs here (else the 8-bit ends go through float bands).
    has_u8_pass: bool = False

    @abstractmethod
    def pixel_stages(
        self, rgb: np.ndarray, stages: Sequence[PixelStage], x0: int = 0, y0: int = 0
    ) -> np.ndarray:
        """Run per-pixel stages fused in one pass. (x0, y0): global position of rgb[0, 0]."""

    def pixel_stages_into(
        self, src: np.ndarray, out: np.ndarray, stages: Sequence[PixelStage], x0: int, y0: int
    ) -> None:
        """Like pixel_stages, writing into `out` (which may be `src`)."""
        out[...] = self.pixel_stages(src, stages, x0, y0)

    def masked_pixel_stages_into(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        x0: int,
        y0: int,
        weight: np.ndarray,
    ) -> None:
        """out = src + (stages(src) - src) * weight (HxW): a mask's local adjustments and their
        blend; `out` may be `src`. NumPy blend unless overridden (the CPU and CUDA backends
        blend inside the fused pass)."""
        adjusted = self.pixel_stages(src, stages, x0, y0)
        out[...] = src + (adjusted - src) * np.asarray(weight, dtype=np.float32)[..., None]

    @abstractmethod
    def convolve(self, img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
        """Separable convolution of HxWxC float32 with odd kernels, mirrored (reflect-101)
        borders, like OpenCV's default."""

    @abstractmethod
    def min_filter(self, img: np.ndarray, radius: int) -> np.ndarray:
        """Separable minimum (erosion) of an HxW image over a (2r+1)^2 square, clamped borders."""

    @abstractmethod
    def bilateral(
        self, img: np.ndarray, radius: int, sigma_s: float, sigma_luma: float, sigma_chroma: float
    ) -> np.ndarray:
        """Joint bilateral on luminance / chroma of HxWx3: range weights from luminance; luma
        uses sigma_luma, chroma sigma_chroma (0 leaves that part as is)."""

    @abstractmethod
    def warp(
        self, img: np.ndarray, params: np.ndarray, out_h: int, out_w: int, y0: int = 0
    ) -> np.ndarray:
        """Output rows y0..y0+out_h of the geometry warp (`kernels.ops.geometry`): each output
        pixel maps to a source position per channel, sampled bicubic (Catmull-Rom), clamped."""

    @abstractmethod
    def resize_axis(self, img: np.ndarray, size: int, axis: int) -> np.ndarray:
        """Lanczos-3 along one axis (0 rows, 1 columns), antialiased when shrinking, with
        Pillow's window (truncated at the borders and renormalised)."""

    # Full-resolution apply steps of the detail operations (kernels/cuda/detail_apply.cu).
    @abstractmethod
    def luma(self, rgb: np.ndarray) -> np.ndarray:
        """HxW luminance plane."""

    # `inplace`: write into rgb (a row-contiguous band of the working image) and return it.
    @abstractmethod
    def local_contrast(
        self,
        rgb: np.ndarray,
        y0: int,
        coefficients: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        """Texture/clarity apply (`kernels.ops.local_contrast`); y0: global row of rgb[0]."""

    @abstractmethod
    def dehaze(
        self,
        rgb: np.ndarray,
        y0: int,
        transmission: np.ndarray,
        params: np.ndarray,
        inplace: bool = False,
    ) -> np.ndarray:
        """Dehaze apply (`kernels.ops.local_contrast.Dehaze`)."""

    @abstractmethod
    def sharpen(
        self,
        rgb: np.ndarray,
        blurred_luma: np.ndarray,
        params: np.ndarray,
        row_offset: int = 0,
        inplace: bool = False,
    ) -> np.ndarray:
        """Unsharp-mask apply (`kernels.ops.sharpen`); rgb row y is blurred_luma row
        y + row_offset (the luma band carries the halo)."""

    def mask_coverage(
        self,
        mask: Mask,
        rgb: np.ndarray,
        y0: int,
        full_w: int,
        full_h: int,
        bitmaps: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The mask's shapes combined over a band (HxW float32; before the mask's feather and
        opacity): rgb is the band of the working image, y0 its first row in the full_w x
        full_h image. NumPy (`kernels.ops.masks.rasterise`, the reference) unless overridden."""
        from kernels.ops import masks

        return masks.rasterise(mask, rgb, y0, full_w, full_h, bitmaps)

    def u8_ends(self, decode_table: np.ndarray, encode_table: np.ndarray, width: int) -> U8Ends:
        """The ends pixel_stages_u8 applies: those of decode_u8 and encode_u8 (a wrapper that
        replaces those replaces this too)."""
        return U8Ends.transfer(decode_table, encode_table, width)

    def pixel_stages_u8(
        self,
        src: np.ndarray,
        out: np.ndarray,
        stages: Sequence[PixelStage],
        ends: U8Ends,
        swap_rb: bool = False,
        y0: int = 0,
    ) -> None:
        """Per-pixel stages in one pass through `ends`, from HxWx3 uint8 codes to HxWx3 uint8
        codes (`out` may be `src`), or between codes and the float32 working space on one side:
        codes to floats is a job's decode end fused with the stages after it, floats to codes
        its encode end with the stages before. y0: the image row of src's first row (the
        stages' coordinates, the dither's rows). Only where `has_u8_pass`; elsewhere callers
        use decode_u8 and encode_u8."""
        raise NotImplementedError(f"the {self.name} backend has no 8-bit pass")

    # The 8-bit ends of a job (tables from `kernels.ops.transfer`); NumPy unless overridden.
    def decode_u8(self, img8: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        """HxWx3 uint8 -> float32 through a 256-entry table (swap_rb: BGR in)."""
        from kernels.ops import transfer

        return transfer.decode_reference(img8, table, swap_rb)

    def encode_u8(self, img: np.ndarray, table: np.ndarray, swap_rb: bool = False) -> np.ndarray:
        """HxWx3 float in [0, 1] -> uint8 through an n-entry table (swap_rb: BGR out)."""
        from kernels.ops import transfer

        return transfer.encode_reference(img, table, swap_rb)


def as_image(img: np.ndarray) -> np.ndarray:
    """C-contiguous float32 with a channel axis."""
    img = np.ascontiguousarray(img, dtype=np.float32)
    return img[..., None] if img.ndim == 2 else img
