"""The develop pipeline: a fixed stage order (docs/kernels.md justifies it against darktable and
ART), consecutive per-pixel operations fused into one generated kernel, neighbourhood
operations as gather kernels, and the image processed in full-width bands with a halo.

Order (scene-referred linear until the output transform):
  1 scene        white balance, exposure                      fused per pixel
  2 noise        luminance / colour noise reduction           gather (halo 3)
  3 dehaze       dark-channel dehaze                          grid + per pixel
  4 local        mask per-pixel adjustments                   fused per pixel, blended by mask
  5 tone         light sliders, tone curve, HSL, colour grading, vibrance/saturation   fused
  6 presence     texture, clarity (+ masked texture/clarity/dehaze)                    grid
  7 detail       sharpening (+ masked sharpness / noise)      gather (halo 3 sigma + 1)
  8 geometry     lens + CA, straighten, crop, flips; then Lanczos-3 resize
  9 finish       post-crop vignette, grain, output transform  fused per pixel

Bands: each stage runs over the whole working buffer band by band; a gather stage reads its
band plus `halo` rows on each side (the rows above are kept from before they were overwritten),
so the result equals an unbanded run and temporaries stay at one band. Grid stages compute their
low-resolution grid from the whole image first (global, like the airlight estimate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kernels.backends.base import Backend
from kernels.ops import (
    color_grading,
    effects,
    geometry,
    hsl,
    light,
    local,
    masks,
    output_transform,
    tone_curve,
    white_balance,
)
from kernels.ops.denoise import Denoise
from kernels.ops.denoise import is_active as denoise_active
from kernels.ops.local_contrast import Dehaze, LocalContrast
from kernels.ops.sharpen import Sharpen
from kernels.ops.sharpen import is_active as sharpen_active
from kernels.ops.stage import PixelStage
from kernels.params import DevelopSettings, Mask

log = logging.getLogger(__name__)

BAND_ROWS = 512
# Resample before the neighbourhood stages when the output is at most this fraction of the
# cropped input (per axis): a 1600 px preview of a 2048 px proxy (0.78) or of a 24 MP original.
EARLY_RESAMPLE_MAX = 0.85
# With a crop, straighten or lens warp the early resample stops at this multiple of the output
# size, the geometry's interpolation runs there and the final Lanczos shrinks the rest: the
# interpolation of an image already at output size would blur it visibly (docs/kernels.md).
EARLY_WARP_MARGIN = 2.0
Progress = Callable[[float, str], None]


class GatherOp(Protocol):
    @property
    def halo(self) -> int: ...

    def prepare(self, backend: Backend, image: np.ndarray) -> None: ...

    def run(self, backend: Backend, band: np.ndarray, y0: int) -> np.ndarray: ...


@runtime_checkable
class InPlaceOp(Protocol):
    """A gather op whose result for a pixel needs only that pixel plus an aux computed from the
    halo'd band: it can write into the working image directly."""

    @property
    def halo(self) -> int: ...

    def aux(self, backend: Backend, band: np.ndarray, y0: int) -> Any: ...

    def apply(self, backend: Backend, core: np.ndarray, aux: Any, offset: int, y0: int) -> None: ...


def scene_stages(s: DevelopSettings) -> list[PixelStage]:
    wb, exposure = white_balance.stage(s.white_balance), light.exposure_stage(s.light.exposure)
    if wb is not None and exposure is not None:
        # One 3x3 pass instead of two: the gain scales the matrix. Exact for whole stops (a
        # power of two scales every product and sum exactly); otherwise within float rounding.
        return [PixelStage("white_balance", wb.params * exposure.params[0], wb.reference)]
    return [x for x in (wb, exposure) if x is not None]


def tone_stages(s: DevelopSettings) -> list[PixelStage]:
    li = s.light
    stages = [
        light.tone_stage(li.contrast, li.highlights, li.shadows, li.whites, li.blacks),
        tone_curve.stage(s.tone_curve),
        hsl.stage(s.hsl),
        color_grading.grading_stage(s.color_grading),
        color_grading.saturation_stage(s.presence),
    ]
    # Without colour grading between them, the mixer and vibrance / saturation are one kernel.
    return hsl.merge_saturation([x for x in stages if x is not None])


def finish_stages(
    s: DevelopSettings, width: int, height: int, scale: float, output: bool
) -> list[PixelStage]:
    stages = [
        effects.vignette_stage(s.effects.vignette, width, height),
        effects.grain_stage(s.effects.grain, scale),
        output_transform.stage() if output else None,
    ]
    return [x for x in stages if x is not None]


@dataclass
class Banding:
    backend: Backend
    rows: int = BAND_ROWS

    def pixel(
        self,
        work: np.ndarray,
        stages: Sequence[PixelStage],
        src: np.ndarray | None = None,
        weight: np.ndarray | None = None,
    ) -> None:
        """Fused per-pixel pass over `src` (default: `work`) into `work`, band by band;
        weight (HxW): the result blended over the source by it (a mask's local adjustments)."""
        if not stages:
            if src is not None:
                np.copyto(work, src)
            return
        source = work if src is None else src
        for y0 in range(0, work.shape[0], self.rows):
            y1 = min(work.shape[0], y0 + self.rows)
            if weight is None:
                self.backend.pixel_stages_into(source[y0:y1], work[y0:y1], stages, 0, y0)
            else:
                self.backend.masked_pixel_stages_into(
                    source[y0:y1], work[y0:y1], stages, 0, y0, weight[y0:y1]
                )

    def gather(
        self, work: np.ndarray, fn: Callable[[np.ndarray, int], np.ndarray], halo: int
    ) -> None:
        """In place: work[core] = fn(band with halo, global row of the band)[core]."""
        h = work.shape[0]
        rows = max(self.rows, 2 * halo)
        saved: np.ndarray | None = None  # original rows [y0 - halo, y0)
        for y0 in range(0, h, rows):
            y1 = min(h, y0 + rows)
            top, bottom = max(0, y0 - halo), min(h, y1 + halo)
            band = work[top:bottom] if saved is None else np.concatenate([saved, work[y0:bottom]])
            result = fn(band, top)
            if halo:
                saved = work[max(0, y1 - halo) : y1].copy()
            work[y0:y1] = result[y0 - top : y1 - top]

    def apply_in_place(self, work: np.ndarray, op: InPlaceOp) -> None:
        """Like gather, but the op writes its core rows straight into `work`: no band copy and
        no write-back. Its aux (e.g. blurred luminance) is computed from the halo'd band first."""
        h = work.shape[0]
        halo = op.halo
        rows = max(self.rows, 2 * halo)
        saved: np.ndarray | None = None
        for y0 in range(0, h, rows):
            y1 = min(h, y0 + rows)
            top, bottom = max(0, y0 - halo), min(h, y1 + halo)
            band = work[top:bottom] if saved is None else np.concatenate([saved, work[y0:bottom]])
            aux = op.aux(self.backend, band, top)
            if halo:
                saved = work[max(0, y1 - halo) : y1].copy()
            op.apply(self.backend, work[y0:y1], aux, y0 - top, y0)

    def op(self, work: np.ndarray, op: GatherOp) -> None:
        op.prepare(self.backend, work)
        if isinstance(op, InPlaceOp):
            self.apply_in_place(work, op)
        else:
            self.gather(work, lambda band, y0: op.run(self.backend, band, y0), op.halo)

    def masked_op(self, work: np.ndarray, op: GatherOp, weight: np.ndarray) -> None:
        op.prepare(self.backend, work)

        def blend(band: np.ndarray, y0: int) -> np.ndarray:
            w = weight[y0 : y0 + band.shape[0], :, None]
            return band + (op.run(self.backend, band, y0) - band) * w

        self.gather(work, blend, op.halo)


@dataclass
class Pipeline:
    settings: DevelopSettings
    backend: Backend
    bitmaps: Mapping[str, np.ndarray] | None = None
    size: int | tuple[int, int] | None = None
    output_transform: bool = True
    progress: Progress | None = None
    band_rows: int = BAND_ROWS
    # Reduced-size output: resample first and run every stage at the output's resolution with
    # pixel radii scaled (see early_scale). False: full resolution, then resize (the reference).
    early_resample: bool = True
    _weights: dict[str, np.ndarray] = field(default_factory=dict)

    def early_scale(self, w: int, h: int) -> tuple[float, float] | None:
        """(x, y) factors to resample a w x h input by before developing, or None.

        Every stage's geometry is relative to the image (crop and lens in fractions, masks,
        clarity/texture/dehaze radii in fractions of the long edge) except the pixel radii of
        noise reduction and sharpening, which the ops scale by the factor. Developing at the
        output's size approximates developing at full size and resizing: detail finer than an
        output pixel, which the resize would average away, is not sharpened or denoised first
        (docs/kernels.md gives the measured difference)."""
        if not self.early_resample or self.size is None:
            return None
        g = self.settings.geometry
        cw, ch = geometry.output_size(g, w, h) if not g.is_identity() else (w, h)
        tw, th = geometry.target_size(self.size, cw, ch)
        fx, fy = tw / cw, th / ch
        if not geometry.is_identity(g, self.settings.lens):
            fx, fy = fx * EARLY_WARP_MARGIN, fy * EARLY_WARP_MARGIN
        if max(fx, fy) > EARLY_RESAMPLE_MAX:
            return None
        return fx, fy

    def _report(self, fraction: float, stage: str) -> None:
        log.debug("develop stage %s (%.0f%%) on %s", stage, fraction * 100, self.backend.name)
        if self.progress is not None:
            self.progress(fraction, stage)

    def run(self, image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        s = self.settings
        bands = Banding(self.backend, self.band_rows)
        h, w = image.shape[:2]
        crop = geometry.output_size(s.geometry, w, h) if not s.geometry.is_identity() else (w, h)
        early = self.early_scale(w, h)
        scale = 1.0  # working pixels per original pixel
        geom = s.geometry
        if early is not None:
            # A crop alone snaps to the full-size image's pixels; keep those edges at the
            # reduced size (resampled there), or the preview would shift by up to half a pixel.
            if s.geometry.angle == 0 and s.lens.is_identity() and not s.geometry.is_identity():
                geom = geometry.snapped(s.geometry, w, h)
            fx, fy = early
            image = geometry.resize(
                self.backend, image, max(1, round(w * fx)), max(1, round(h * fy))
            )
            h, w = image.shape[:2]
            scale = max(fx, fy)
            out = None  # the caller's full-size buffer no longer fits
        active_masks = [
            m for m in s.masks if m.enabled and m.shapes and not m.adjustments.is_identity()
        ]

        self._report(0.0, "scene")
        work = np.empty((h, w, 3), dtype=np.float32) if out is None else out
        bands.pixel(work, scene_stages(s), src=image)

        self._report(0.1, "noise")
        if denoise_active(s.detail.noise_reduction):
            bands.op(work, Denoise(s.detail.noise_reduction, scale))

        self._report(0.2, "dehaze")
        if s.presence.dehaze:
            bands.op(work, Dehaze(s.presence.dehaze))

        self._report(0.3, "local")
        for mask in active_masks:
            self._weights[mask.id] = self._mask_weights(bands, work, mask)
            # The adjustments and their blend by the weights in one fused pass.
            bands.pixel(work, local.pixel_stages(mask.adjustments), weight=self._weights[mask.id])

        self._report(0.4, "tone")
        bands.pixel(work, tone_stages(s))

        self._report(0.5, "presence")
        if s.presence.texture or s.presence.clarity:
            bands.op(work, LocalContrast(texture=s.presence.texture, clarity=s.presence.clarity))
        for mask in active_masks:
            for lop in local.presence_ops(mask.adjustments):
                bands.masked_op(work, lop, self._weights[mask.id])

        self._report(0.6, "detail")
        if sharpen_active(s.detail.sharpening):
            bands.op(work, Sharpen(s.detail.sharpening, scale))
        for mask in active_masks:
            for dop in local.detail_ops(mask.adjustments, scale):
                bands.masked_op(work, dop, self._weights[mask.id])
        self._weights.clear()

        self._report(0.7, "geometry")
        result = geometry.apply(self.backend, work, geom, s.lens, snap=early is None)
        # The size asked for, from the full-resolution crop: an early-resampled crop may differ
        # from it by a pixel of rounding, which the resize below absorbs.
        tw, th = geometry.target_size(self.size, *crop)
        scale = tw / crop[0]  # output pixels per original pixel (grain scales with it)
        if (tw, th) != (result.shape[1], result.shape[0]):
            result = geometry.resize(self.backend, result, tw, th)
        if result is not work:
            del work  # let the full-size buffer go before the finishing pass

        self._report(0.9, "finish")
        result = np.ascontiguousarray(result)
        w2, h2 = result.shape[1], result.shape[0]
        bands.pixel(result, finish_stages(s, w2, h2, scale, self.output_transform))
        self._report(1.0, "done")
        return result

    def _mask_weights(self, bands: Banding, work: np.ndarray, mask: Mask) -> np.ndarray:
        h, w = work.shape[:2]
        out = np.empty((h, w), dtype=np.float32)
        halo = masks.halo(mask, w, h)
        rows = max(bands.rows, 2 * halo)
        for y0 in range(0, h, rows):
            y1 = min(h, y0 + rows)
            top, bottom = max(0, y0 - halo), min(h, y1 + halo)
            band = masks.weights(self.backend, mask, work[top:bottom], top, w, h, self.bitmaps)
            out[y0:y1] = band[y0 - top : y1 - top]
        return out


# --- streaming 8-bit jobs ---------------------------------------------------------------------

STREAM_BAND_ROWS = 64  # ~5 MB of float32 per band at 6000 px wide: stays in cache


def can_stream(s: DevelopSettings, size: int | tuple[int, int] | None) -> bool:
    """True when no stage needs the whole image: no grid stages (dehaze, texture, clarity), no
    masks, no geometry or resize. Such recipes can run decode -> develop -> encode band by
    band, never holding a full-size float image."""
    p = s.presence
    return (
        not (p.dehaze or p.texture or p.clarity)
        and not any(m.enabled and m.shapes for m in s.masks)
        and geometry.is_identity(s.geometry, s.lens)
        and size is None
    )


def stream_u8(
    image8: np.ndarray,
    settings: DevelopSettings,
    backend: Backend,
    decode_table: np.ndarray,
    encode_table: np.ndarray,
    *,
    swap_rb: bool = False,
    output: bool = True,
    band_rows: int = STREAM_BAND_ROWS,
    overwrite: bool = False,
) -> np.ndarray:
    """Develop an 8-bit image into a new 8-bit image in bands: each band is decoded with a
    halo (the sum of the gather stages' halos), developed, and its core rows encoded. Equal to
    decode -> render -> encode for recipes that `can_stream`. overwrite: the caller gives
    image8 up, and a one-pass job writes its result there (a fresh 72 MB output for 24 MP
    costs ~10 ms of page faults and zeroing, a fifth of the pass); banded jobs read rows of
    image8 again as halo after they would be written, so they still write a new image."""
    h, w = image8.shape[:2]
    s = settings
    scene, tone = scene_stages(s), tone_stages(s)
    finish = finish_stages(s, w, h, 1.0, output)
    gathers: list[GatherOp] = []
    if denoise_active(s.detail.noise_reduction):
        gathers.append(Denoise(s.detail.noise_reduction))
    sharpen = Sharpen(s.detail.sharpening) if sharpen_active(s.detail.sharpening) else None
    halo = sum(g.halo for g in gathers) + (sharpen.halo if sharpen else 0)
    fused = backend.has_u8_pass  # the ends in the passes of the stages next to them
    if fused:
        ends = backend.u8_ends(decode_table, encode_table, w)
        if image8.strides[1:] != (3, 1):
            image8 = np.ascontiguousarray(image8)
        if not gathers and sharpen is None:  # one pass from codes to codes, no float band
            one = image8 if overwrite and image8.flags.writeable else np.empty_like(image8)
            backend.pixel_stages_u8(image8, one, [*scene, *tone, *finish], ends, swap_rb)
            return one
    out = np.empty((h, w, 3), dtype=np.uint8)
    for y0 in range(0, h, band_rows):
        y1 = min(h, y0 + band_rows)
        top, bottom = max(0, y0 - halo), min(h, y1 + halo)
        if fused:
            band = np.empty((bottom - top, w, 3), dtype=np.float32)
            backend.pixel_stages_u8(image8[top:bottom], band, scene, ends, swap_rb, top)
        else:
            band = backend.decode_u8(image8[top:bottom], decode_table, swap_rb)
            backend.pixel_stages_into(band, band, scene, 0, top)
        for g in gathers:  # rows near the band's edges go stale; the halo covers them
            band = g.run(backend, band, top)
        backend.pixel_stages_into(band, band, tone, 0, top)
        core = band[y0 - top : y1 - top]
        if sharpen is not None:
            sharpen.apply(backend, core, sharpen.aux(backend, band, top), y0 - top, y0)
        if fused:
            backend.pixel_stages_u8(core, out[y0:y1], finish, ends, swap_rb, y0)
        else:
            backend.pixel_stages_into(core, core, finish, 0, y0)
            out[y0:y1] = backend.encode_u8(core, encode_table, swap_rb)
    return out
