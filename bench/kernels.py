"""Develop-kernel benchmark: our CPU backend beside the NumPy reference, OpenCV and pyvips doing
the nearest equivalent work, in the same run, on a 24 MP photograph (skimage's `coffee`
upscaled; temp files only). Prints figures, ratios and peak memory; never run by the tests.

    python bench/kernels.py              # per-op table, the JPEG job, the 100 MP tiled render
    python bench/kernels.py --quick      # 6 MP, no 100 MP run

Figures depend on the machine and its load: say where they were taken.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernels.backends.base import Backend  # noqa: E402
from kernels.backends.cpu import CpuBackend  # noqa: E402
from kernels.backends.numpy_ref import NumpyBackend  # noqa: E402
from kernels.ops import blur, geometry, local, masks, transfer, white_balance  # noqa: E402
from kernels.ops.denoise import Denoise  # noqa: E402
from kernels.ops.sharpen import Sharpen  # noqa: E402
from kernels.params import (  # noqa: E402
    HSL,
    Brush,
    BrushStroke,
    ColorRange,
    Detail,
    DevelopSettings,
    Geometry,
    HSLBand,
    Light,
    LinearGradient,
    LocalAdjustments,
    LuminosityRange,
    Mask,
    NoiseReduction,
    Presence,
    RadialGradient,
    Sharpening,
    ToneCurve,
    WhiteBalance,
)
from kernels.pipeline import Pipeline, scene_stages, tone_stages  # noqa: E402
from kernels.render import render, render_u8  # noqa: E402

WB = WhiteBalance(temperature=5200, tint=8)
LIGHT = Light(exposure=0.4, contrast=20, highlights=-30, shadows=25)
CURVE = ToneCurve(luma=[(0.0, 0.0), (0.25, 0.22), (0.75, 0.8), (1.0, 1.0)])
MIXER = HSL(orange=HSLBand(saturation=-15, luminance=10), blue=HSLBand(hue=-10, saturation=20))
PRESENCE = Presence(saturation=10)
SHARP = Sharpening(amount=60, radius=1.0, detail=40)
JOB = DevelopSettings(
    white_balance=WB,
    light=LIGHT,
    tone_curve=CURVE,
    hsl=MIXER,
    presence=PRESENCE,
    detail=Detail(sharpening=SHARP),
)

PREVIEW = DevelopSettings(
    white_balance=WB,
    light=LIGHT,
    tone_curve=CURVE,
    hsl=MIXER,
    presence=Presence(saturation=10, clarity=30),
    detail=Detail(sharpening=SHARP, noise_reduction=NoiseReduction(luminance=30, color=30)),
)


_t = np.linspace(0.0, 1.0, 300)
# Three masks as an editor makes them: a graduated sky limited to the highlights, a feathered
# radial on the subject, and a 300-dab brush stroke limited to a colour range.
THREE_MASKS = DevelopSettings(
    masks=[
        Mask(
            id="sky",
            shapes=[
                LinearGradient(x0=0.5, y0=0.0, x1=0.5, y1=0.45),
                LuminosityRange(low=0.4, high=1.0, smoothness=0.2, mode="intersect"),
            ],
            adjustments=LocalAdjustments(exposure=-0.6, temperature=-20, highlights=-30),
        ),
        Mask(
            id="subject",
            shapes=[RadialGradient(cx=0.5, cy=0.55, rx=0.25, ry=0.3, angle=15, feather=60)],
            adjustments=LocalAdjustments(exposure=0.3, contrast=20, saturation=10),
            feather=10,
        ),
        Mask(
            id="brush",
            shapes=[
                Brush(
                    strokes=[
                        BrushStroke(
                            points=[
                                (float(0.2 + 0.6 * a), float(0.7 + 0.1 * np.sin(9 * a))) for a in _t
                            ],
                            size=0.04,
                            feather=50,
                        )
                    ]
                ),
                ColorRange(hue=30, hue_range=40, min_saturation=0.1, mode="intersect"),
            ],
            adjustments=LocalAdjustments(saturation=-40, shadows=20),
        ),
    ]
)


class NumpyMasks(CpuBackend):
    """The CPU backend with the previous mask path: shapes rasterised by the NumPy reference
    and the adjustments blended in NumPy after their own pass."""

    mask_coverage = Backend.mask_coverage
    masked_pixel_stages_into = Backend.masked_pixel_stages_into


def mask_rows(cpu: CpuBackend, img: np.ndarray) -> None:
    h, w = img.shape[:2]

    def coverage(backend: Backend, band: np.ndarray) -> None:
        for m in THREE_MASKS.masks:
            backend.mask_coverage(m, band, 0, w, h)

    row(
        "3 masks: shapes (coverage)",
        best_of(lambda: coverage(cpu, img)),
        {"NumPy ref": strip_time(lambda s: coverage(NumpyBackend(), s), img, 16)},
    )
    weights = [masks.weights(cpu, m, img, 0, w, h) for m in THREE_MASKS.masks]
    stages = [local.pixel_stages(m.adjustments) for m in THREE_MASKS.masks]
    out = np.empty_like(img)
    old = NumpyMasks()

    def adjust(backend: Backend, band: np.ndarray) -> None:
        for st, wt in zip(stages, weights, strict=True):
            backend.masked_pixel_stages_into(band, out, st, 0, 0, wt)

    row(
        "3 masks: adjust + blend",
        best_of(lambda: adjust(cpu, img)),
        {"NumPy blend": best_of(lambda: adjust(old, img), 1)},
    )
    row(
        "3 masks: render()",
        best_of(lambda: render(img, THREE_MASKS, backend=cpu), 1),
        {"NumPy masks": strip_time(lambda s: render(s, THREE_MASKS, backend=old), img, 8)},
    )


def fused_stages() -> list[Any]:
    """The job's scene and tone stages as the pipeline builds them (white balance and exposure
    as one scaled matrix, the mixer and saturation as one kernel), in one pass."""
    return [*scene_stages(JOB), *tone_stages(JOB)]


def photograph(width: int, height: int) -> np.ndarray:
    import cv2
    from skimage import data

    small = data.coffee()  # 400x600 RGB photograph, bundled with scikit-image
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return big


def to_linear(rgb8: np.ndarray) -> np.ndarray:
    return transfer.decode_reference(rgb8, transfer.srgb_decode_table())


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def strip_time(fn: Callable[[np.ndarray], object], img: np.ndarray, parts: int = 8) -> float:
    """The NumPy reference on 1/parts of the rows, scaled: the whole image would take minutes."""
    strip = np.ascontiguousarray(img[: img.shape[0] // parts])
    return best_of(lambda: fn(strip), 1) * parts


def row(name: str, ours: float, others: dict[str, float | None]) -> None:
    cells = [f"{name:<28} ours {ours * 1000:8.1f} ms"]
    for label, t in others.items():
        if t is None:
            cells.append(f"{label} {'-':>8}   ")
        else:
            cells.append(f"{label} {t * 1000:8.1f} ms ({t / ours:5.1f}x)")
    print(" | ".join(cells), flush=True)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def fused_ratio(img8: np.ndarray, runs: int) -> None:
    """The fused develop pass against numpy.copyto of the same buffer into the same
    preallocated (already faulted-in) output, alternating, best of 9 each per run; OpenMP
    threads warm. Prints each run's ratio with the load average beside it."""
    cpu = CpuBackend()
    img = to_linear(img8)
    out = np.zeros_like(img)  # written once: no page faults inside the timings
    stages = fused_stages()
    cpu.pixel_stages_into(img, out, stages, 0, 0)  # build, start the thread pool
    print(f"\n== fused develop pass ({' + '.join(s.kernel for s in stages)}) / numpy.copyto")
    ratios = []
    for run in range(runs):
        copy = best_of(lambda: np.copyto(out, img), 9)
        fused = best_of(lambda: cpu.pixel_stages_into(img, out, stages, 0, 0), 9)
        ratios.append(fused / copy)
        print(
            f"run {run + 1}: fused {fused * 1000:6.1f} ms, copyto {copy * 1000:5.1f} ms, "
            f"ratio {fused / copy:4.2f} (load average {load_average()})",
            flush=True,
        )
    print(f"ratio best {min(ratios):.2f}, median {float(np.median(ratios)):.2f} (target <= 2)")


def per_op(img8: np.ndarray) -> None:
    import cv2
    import pyvips

    cpu, ref = CpuBackend(), NumpyBackend()
    img = to_linear(img8)
    h, w = img.shape[:2]
    print(
        f"\n== per op, {w}x{h} float32 RGB ({img.nbytes / 2**20:.0f} MiB); ratio = their time / ours"
    )
    vimg = pyvips.Image.new_from_memory(img.tobytes(), w, h, 3, "float")

    def vips(op: Callable[[Any], Any]) -> float:
        return best_of(lambda: op(vimg).write_to_memory())

    out = np.empty_like(img)
    copy = best_of(lambda: np.copyto(out, img))
    stages = fused_stages()
    cpu.pixel_stages(img[:8], stages)  # build before timing
    fused = best_of(lambda: cpu.pixel_stages_into(img, out, stages, 0, 0))
    m = white_balance.adaptation_matrix(WB).astype(np.float32) * 2**LIGHT.exposure

    def cv_develop() -> None:  # matrix, gamma curve, saturation through HSV
        x = cv2.transform(img, m)
        x = cv2.pow(np.maximum(x, 0), 0.9)
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
        hsv[..., 1] *= np.float32(1.1)  # type: ignore[arg-type]
        cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)

    def vips_develop(v: Any) -> Any:
        sat = np.eye(3) * 1.1 - 0.1 * np.array([[0.2627, 0.678, 0.0593]] * 3)
        return (v.recomb(m.tolist()) ** 0.9).recomb(sat.tolist())

    row(
        "fused develop pass",
        fused,
        {
            "numpy.copyto": copy,
            "NumPy ref": strip_time(lambda s: ref.pixel_stages(s, stages), img),
            "OpenCV": best_of(cv_develop),
            "pyvips": vips(vips_develop),
        },
    )
    print(f"{'':<28} fused pass / numpy.copyto = {fused / copy:.2f} (target <= 2)")

    k = blur.gaussian_kernel(2.0)
    ks = len(k)
    row(
        "gaussian blur sigma 2",
        best_of(lambda: cpu.convolve(img, k, k)),
        {
            "NumPy ref": strip_time(lambda s: ref.convolve(s, k, k), img),
            "OpenCV": best_of(lambda: cv2.GaussianBlur(img, (ks, ks), 2.0)),
            "pyvips": vips(lambda v: v.gaussblur(2.0, precision="float")),
        },
    )
    sharp = Sharpen(SHARP)

    def cv_usm() -> None:
        b = cv2.GaussianBlur(img, (7, 7), 1.0)
        cv2.addWeighted(img, 1.6, b, -0.6, 0)

    row(
        "unsharp mask (luma)",
        best_of(lambda: sharp.run(cpu, img, 0)),
        {
            "NumPy ref": strip_time(lambda s: sharp.run(ref, s, 0), img),
            "OpenCV": best_of(cv_usm),
            "pyvips": vips(lambda v: v * 1.6 - v.gaussblur(1.0, precision="float") * 0.6),
        },
    )
    nr = Denoise(NoiseReduction(luminance=40, color=40))
    row(
        "bilateral NR 7x7",
        best_of(lambda: nr.run(cpu, img, 0), 1),
        {
            "NumPy ref": strip_time(lambda s: nr.run(ref, s, 0), img, 16),
            "OpenCV": best_of(lambda: cv2.bilateralFilter(img, 7, 0.05, 1.5), 1),
            "pyvips": None,
        },
    )
    geom = Geometry(angle=3.0)
    row(
        "straighten 3 deg (bicubic)",
        best_of(lambda: geometry.apply(cpu, img, geom, geometry.Lens()), 1),
        {
            "NumPy ref": strip_time(
                lambda s: geometry.apply(ref, s, geom, geometry.Lens()), img, 16
            ),
            "OpenCV": best_of(
                lambda: cv2.warpAffine(
                    img,
                    cv2.getRotationMatrix2D((w / 2, h / 2), -3.0, 1.07),
                    (w, h),
                    flags=cv2.INTER_CUBIC,
                )
            ),
            "pyvips": vips(lambda v: v.rotate(3.0, interpolate=pyvips.Interpolate.new("bicubic"))),
        },
    )
    tw, th = geometry.target_size(2048, w, h)
    row(
        "Lanczos-3 to 2048 px",
        best_of(lambda: geometry.resize(cpu, img, tw, th)),
        {
            "NumPy ref": strip_time(lambda s: geometry.resize(ref, s, tw, max(1, th // 8)), img),
            "OpenCV": best_of(lambda: cv2.resize(img, (tw, th), interpolation=cv2.INTER_LANCZOS4)),
            "pyvips": vips(lambda v: v.resize(tw / w, kernel="lanczos3")),
        },
    )
    mask_rows(cpu, img)
    full = best_of(lambda: render(img, JOB, backend=cpu), 1)
    row(
        "whole develop (render)",
        full,
        {"NumPy ref": strip_time(lambda s: render(s, JOB, backend=ref), img, 16)},
    )
    # A 1600 px preview: resampled before the neighbourhood stages, against developing at full
    # resolution and resizing last (Pipeline(early_resample=False), the previous behaviour).
    preview = PREVIEW.model_copy(deep=True)
    row(
        "preview 1600 px (render)",
        best_of(lambda: render(img, preview, backend=cpu, size=1600), 2),
        {
            "full res, then resize": best_of(
                lambda: Pipeline(preview, cpu, size=1600, early_resample=False).run(img), 2
            )
        },
    )


# --- the JPEG -> develop -> JPEG job, each in its own process for its peak memory ------------


def job_ours(src: str, dst: str) -> None:
    """Decode (OpenCV's libjpeg), sRGB -> linear and back through our transfer kernels, develop
    in place. Both jobs skip the Rec.709 -> Rec.2020 primaries step (the I/O library's)."""
    import cv2

    bgr = cv2.imread(src, cv2.IMREAD_COLOR)
    assert bgr is not None
    developed = render_u8(bgr, JOB, backend="cpu", swap_rb=True)  # streams in bands
    del bgr
    cv2.imwrite(dst, developed, [cv2.IMWRITE_JPEG_QUALITY, 90])


def job_vips(src: str, dst: str) -> None:
    import pyvips

    v = pyvips.Image.new_from_file(src, access="sequential")
    v = v.colourspace("scrgb")
    m = (white_balance.adaptation_matrix(WB) * 2**LIGHT.exposure).tolist()
    sat = (np.eye(3) * 1.1 - 0.1 * np.array([[0.2627, 0.678, 0.0593]] * 3)).tolist()
    v = (v.recomb(m) ** 0.9).recomb(sat)
    v = v * 1.6 - v.gaussblur(1.0, precision="float") * 0.6
    v.colourspace("srgb").jpegsave(dst, Q=90)


def run_job(kind: str, src: str, dst: str) -> tuple[float, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--job", kind, src, dst],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak = proc.stdout.split()[-2:]
    return float(seconds), float(peak)


def job_main(kind: str, src: str, dst: str) -> None:
    if kind == "big":
        t0 = time.perf_counter()
        n = int(src)
        # A 100 MP float image (1.1 GiB) developed in place: the input plus band temporaries.
        img = np.full((n * 2 // 3, n, 3), 0.18, dtype=np.float32)
        img[::7, ::5] = 0.6  # some structure for the sharpening to work on
        render(img, JOB, backend="cpu", band_rows=256, out=img)
    else:
        t0 = time.perf_counter()
        (job_ours if kind == "ours" else job_vips)(src, dst)
    seconds = time.perf_counter() - t0
    print(f"{seconds:.3f} {peak_rss_gib():.3f}")


def peak_rss_gib() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec; ru_maxrss would
    carry over the parent's peak through fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20  # kB -> GiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def jobs(img8: np.ndarray, big: bool) -> None:
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.jpg")
        cv2.imwrite(src, img8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        h, w = img8.shape[:2]
        print(f"\n== JPEG -> develop -> JPEG, {w}x{h}, each job in its own process")
        print(
            "   (alternating ours / pyvips, best of 3: the machine is shared and its load varies)"
        )
        runs: dict[str, list[tuple[float, float]]] = {"ours": [], "vips": []}
        for _ in range(3):
            for kind in runs:
                runs[kind].append(run_job(kind, src, os.path.join(tmp, f"{kind}.jpg")))
        ours, vips = min(runs["ours"]), min(runs["vips"])
        print(f"ours   {ours[0] * 1000:8.0f} ms  peak RSS {ours[1]:.2f} GiB (target < 1 GiB)")
        print(f"pyvips {vips[0] * 1000:8.0f} ms  peak RSS {vips[1]:.2f} GiB")
        print(f"pyvips / ours = {vips[0] / ours[0]:.2f}x (target >= 1.25)")
        if big:
            secs, peak = run_job("big", "12288", "-")
            print(
                f"\n== 100 MP (12288x8192) render in bands: {secs:.1f} s, peak RSS {peak:.2f} GiB (target < 4)"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="6 MP, skip the 100 MP run")
    parser.add_argument("--jobs-only", action="store_true", help="skip the per-op table")
    parser.add_argument(
        "--fused", type=int, metavar="RUNS", help="only the fused pass / copyto ratio, RUNS times"
    )
    parser.add_argument("--job", nargs=3, metavar=("KIND", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        job_main(*args.job)
        return
    w, h = (3000, 2000) if args.quick else (6000, 4000)
    img8 = photograph(w, h)
    print(f"cores: {os.cpu_count()} (shared machine: figures are indicative)")
    if args.fused:
        fused_ratio(img8, args.fused)
        return
    if not args.jobs_only:
        per_op(img8)
    jobs(img8, big=not args.quick)


if __name__ == "__main__":
    main()
