"""Parameter models of every develop operation: the contract between recipe and kernels.

The edit recipe (`projects/recipe.py`) embeds `DevelopSettings`; the renderer consumes it. Ranges
follow Lightroom / Camera Raw so presets carry over. Every default is the identity: a default
`DevelopSettings()` renders the input unchanged (before the output transform).

Coordinates in masks and crops are normalised to the image (0..1, origin top left, x right,
y down) so a recipe renders the same at every size.
"""

from __future__ import annotations

import itertools
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Slider = Annotated[float, Field(ge=-100, le=100)]
Amount = Annotated[float, Field(ge=0, le=100)]
Unit = Annotated[float, Field(ge=0, le=1)]
Hue = Annotated[float, Field(ge=0, le=360)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    def is_identity(self) -> bool:
        """True when these settings leave the image unchanged."""
        return self == type(self)()


class WhiteBalance(Params):
    """Chromatic adaptation in linear light.

    `temperature` is the colour temperature (K) of the light the scene was lit by, as in
    Lightroom: the image is adapted from that white to D65. None keeps the decoded white (as shot).
    `tint` moves along the green (-) / magenta (+) axis.
    """

    temperature: Annotated[float, Field(ge=2000, le=50000)] | None = None
    tint: Annotated[float, Field(ge=-150, le=150)] = 0.0


class Light(Params):
    exposure: Annotated[float, Field(ge=-5, le=5)] = 0.0  # EV: +1 doubles linear values
    contrast: Slider = 0.0
    highlights: Slider = 0.0
    shadows: Slider = 0.0
    whites: Slider = 0.0
    blacks: Slider = 0.0


CurvePoint = tuple[Unit, Unit]


class ToneCurve(Params):
    """Parametric regions (with three split points) then point curves, baked to one LUT."""

    highlights: Slider = 0.0
    lights: Slider = 0.0
    darks: Slider = 0.0
    shadows: Slider = 0.0
    shadow_split: Annotated[float, Field(ge=10, le=70)] = 25.0
    midtone_split: Annotated[float, Field(ge=20, le=80)] = 50.0
    highlight_split: Annotated[float, Field(ge=30, le=90)] = 75.0
    # Point curves: up to 16 (x, y) points in display-referred 0..1, x strictly increasing,
    # interpolated with a monotone cubic. Empty means identity.
    luma: list[CurvePoint] = Field(default_factory=list, max_length=16)
    red: list[CurvePoint] = Field(default_factory=list, max_length=16)
    green: list[CurvePoint] = Field(default_factory=list, max_length=16)
    blue: list[CurvePoint] = Field(default_factory=list, max_length=16)

    @field_validator("luma", "red", "green", "blue")
    @classmethod
    def _increasing(cls, points: list[CurvePoint]) -> list[CurvePoint]:
        if len(points) == 1:
            raise ValueError("a point curve needs at least two points")
        xs = [x for x, _ in points]
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ValueError("curve points must have strictly increasing x")
        return points

    @model_validator(mode="after")
    def _splits_ordered(self) -> ToneCurve:
        if not self.shadow_split < self.midtone_split < self.highlight_split:
            raise ValueError("splits must satisfy shadow < midtone < highlight")
        return self


class HSLBand(Params):
    hue: Slider = 0.0
    saturation: Slider = 0.0
    luminance: Slider = 0.0


HSL_BANDS = ("red", "orange", "yellow", "green", "aqua", "blue", "purple", "magenta")


class HSL(Params):
    """Colour mixer: eight overlapping hue bands with smooth weights."""

    red: HSLBand = Field(default_factory=HSLBand)
    orange: HSLBand = Field(default_factory=HSLBand)
    yellow: HSLBand = Field(default_factory=HSLBand)
    green: HSLBand = Field(default_factory=HSLBand)
    aqua: HSLBand = Field(default_factory=HSLBand)
    blue: HSLBand = Field(default_factory=HSLBand)
    purple: HSLBand = Field(default_factory=HSLBand)
    magenta: HSLBand = Field(default_factory=HSLBand)


class ColorWheel(Params):
    hue: Hue = 0.0
    saturation: Amount = 0.0
    luminance: Slider = 0.0


class ColorGrading(Params):
    shadows: ColorWheel = Field(default_factory=ColorWheel)
    midtones: ColorWheel = Field(default_factory=ColorWheel)
    highlights: ColorWheel = Field(default_factory=ColorWheel)
    global_: ColorWheel = Field(default_factory=ColorWheel, alias="global")
    blending: Amount = 50.0
    balance: Slider = 0.0

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_assignment=True, populate_by_name=True
    )


class Presence(Params):
    texture: Slider = 0.0
    clarity: Slider = 0.0
    dehaze: Slider = 0.0
    vibrance: Slider = 0.0
    saturation: Slider = 0.0


class Sharpening(Params):
    amount: Annotated[float, Field(ge=0, le=150)] = 0.0
    radius: Annotated[float, Field(ge=0.5, le=3.0)] = 1.0
    detail: Amount = 25.0
    masking: Amount = 0.0


class NoiseReduction(Params):
    luminance: Amount = 0.0
    luminance_detail: Amount = 50.0
    color: Amount = 0.0
    color_detail: Amount = 50.0


class Detail(Params):
    sharpening: Sharpening = Field(default_factory=Sharpening)
    noise_reduction: NoiseReduction = Field(default_factory=NoiseReduction)


class Lens(Params):
    """Radial distortion (Brown-Conrady k1, k2 on the normalised radius) and lateral CA."""

    k1: Annotated[float, Field(ge=-1, le=1)] = 0.0
    k2: Annotated[float, Field(ge=-1, le=1)] = 0.0
    # Lateral chromatic aberration as a relative scale of the red and blue planes (x1e-4).
    ca_red: Annotated[float, Field(ge=-100, le=100)] = 0.0
    ca_blue: Annotated[float, Field(ge=-100, le=100)] = 0.0


class Crop(Params):
    left: Unit = 0.0
    top: Unit = 0.0
    right: Unit = 1.0
    bottom: Unit = 1.0

    @model_validator(mode="after")
    def _non_empty(self) -> Crop:
        if self.right - self.left < 0.001 or self.bottom - self.top < 0.001:
            raise ValueError("the crop must keep a non-empty area (left < right, top < bottom)")
        return self


class Geometry(Params):
    crop: Crop = Field(default_factory=Crop)
    angle: Annotated[float, Field(ge=-45, le=45)] = 0.0  # straighten, degrees, clockwise
    flip_horizontal: bool = False
    flip_vertical: bool = False


class Vignette(Params):
    """Post-crop vignette."""

    amount: Slider = 0.0
    midpoint: Amount = 50.0
    roundness: Slider = 0.0
    feather: Amount = 50.0


class Grain(Params):
    amount: Amount = 0.0
    size: Amount = 25.0
    roughness: Amount = 50.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class Effects(Params):
    vignette: Vignette = Field(default_factory=Vignette)
    grain: Grain = Field(default_factory=Grain)


# --- local adjustments ---------------------------------------------------------------------


class MaskMode(StrEnum):
    ADD = "add"
    SUBTRACT = "subtract"
    INTERSECT = "intersect"


class _Shape(Params):
    invert: bool = False
    opacity: Unit = 1.0
    mode: MaskMode = MaskMode.ADD


class LinearGradient(_Shape):
    """Fully on at (x0, y0), fully off at (x1, y1), smooth between."""

    type: Literal["linear"] = "linear"
    x0: float = Field(0.5, ge=-1, le=2)
    y0: float = Field(0.0, ge=-1, le=2)
    x1: float = Field(0.5, ge=-1, le=2)
    y1: float = Field(1.0, ge=-1, le=2)


class RadialGradient(_Shape):
    type: Literal["radial"] = "radial"
    cx: float = Field(0.5, ge=-1, le=2)
    cy: float = Field(0.5, ge=-1, le=2)
    rx: float = Field(0.25, gt=0, le=2)
    ry: float = Field(0.25, gt=0, le=2)
    angle: float = Field(0.0, ge=-180, le=180)
    feather: Amount = 50.0


class BrushStroke(Params):
    points: list[tuple[float, float]] = Field(min_length=1, max_length=4096)
    size: float = Field(0.05, gt=0, le=1)  # diameter, as a fraction of the long edge
    feather: Amount = 50.0
    flow: Unit = 1.0
    erase: bool = False


class Brush(_Shape):
    type: Literal["brush"] = "brush"
    strokes: list[BrushStroke] = Field(default_factory=list, max_length=512)


class LuminosityRange(_Shape):
    type: Literal["luminosity"] = "luminosity"
    low: Unit = 0.0
    high: Unit = 1.0
    smoothness: Unit = 0.1


class ColorRange(_Shape):
    type: Literal["color"] = "color"
    hue: Hue = 0.0
    hue_range: Annotated[float, Field(gt=0, le=180)] = 30.0
    min_saturation: Unit = 0.1
    smoothness: Unit = 0.2


class BitmapMask(_Shape):
    """A stored single-channel mask (AI selections), referenced by asset id."""

    type: Literal["bitmap"] = "bitmap"
    asset_id: str = Field(min_length=1, max_length=64)


MaskShape = Annotated[
    LinearGradient | RadialGradient | Brush | LuminosityRange | ColorRange | BitmapMask,
    Field(discriminator="type"),
]


class LocalAdjustments(Params):
    """The develop settings a mask can carry (Lightroom's local sliders)."""

    exposure: Annotated[float, Field(ge=-4, le=4)] = 0.0
    contrast: Slider = 0.0
    highlights: Slider = 0.0
    shadows: Slider = 0.0
    whites: Slider = 0.0
    blacks: Slider = 0.0
    temperature: Slider = 0.0  # relative shift, not Kelvin
    tint: Slider = 0.0
    saturation: Slider = 0.0
    texture: Slider = 0.0
    clarity: Slider = 0.0
    dehaze: Slider = 0.0
    sharpness: Slider = 0.0
    noise: Slider = 0.0


class Mask(Params):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field("", max_length=100)
    enabled: bool = True
    shapes: list[MaskShape] = Field(default_factory=list, max_length=32)
    adjustments: LocalAdjustments = Field(default_factory=LocalAdjustments)
    feather: Amount = 0.0
    opacity: Unit = 1.0


class DevelopSettings(Params):
    """Everything the renderer needs from a recipe, in pipeline order."""

    white_balance: WhiteBalance = Field(default_factory=WhiteBalance)
    light: Light = Field(default_factory=Light)
    tone_curve: ToneCurve = Field(default_factory=ToneCurve)
    hsl: HSL = Field(default_factory=HSL)
    color_grading: ColorGrading = Field(default_factory=ColorGrading)
    presence: Presence = Field(default_factory=Presence)
    detail: Detail = Field(default_factory=Detail)
    lens: Lens = Field(default_factory=Lens)
    geometry: Geometry = Field(default_factory=Geometry)
    effects: Effects = Field(default_factory=Effects)
    masks: list[Mask] = Field(default_factory=list, max_length=32)

    @field_validator("masks")
    @classmethod
    def _unique_mask_ids(cls, masks: list[Mask]) -> list[Mask]:
        ids = [m.id for m in masks]
        if len(ids) != len(set(ids)):
            raise ValueError("mask ids must be unique")
        return masks
