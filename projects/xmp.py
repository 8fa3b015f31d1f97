"""Lightroom / Camera Raw presets and sidecars (XMP, the `crs:` namespace) to and from recipes.

Import reads settings in attribute form (`crs:Exposure2012="+0.50"`) and element form
(`<crs:Exposure2012>+0.50</crs:Exposure2012>`, curves as `rdf:Seq`), matching the namespace by
URI whatever its prefix. It returns a partial recipe (only what the file sets) and the list of
settings it could not map. Parsing uses defusedxml with DTDs refused (so no entities at all) and
a size bound.

Export writes every mapped setting, so importing the file onto any recipe gives back the same
values for everything XMP can carry. Curve points travel as 0..255 values (rounded to 4 places
there, 6 places back in 0..1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET  # builds documents; parsing goes through defusedxml

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.conf import settings

from projects import recipe

CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
XML = "http://www.w3.org/XML/1998/namespace"

_BANDS = ("Red", "Orange", "Yellow", "Green", "Aqua", "Blue", "Purple", "Magenta")

# crs name -> path in the recipe
SCALARS: dict[str, tuple[str, ...]] = {
    "Exposure2012": ("develop", "light", "exposure"),
    "Contrast2012": ("develop", "light", "contrast"),
    "Highlights2012": ("develop", "light", "highlights"),
    "Shadows2012": ("develop", "light", "shadows"),
    "Whites2012": ("develop", "light", "whites"),
    "Blacks2012": ("develop", "light", "blacks"),
    "Texture": ("develop", "presence", "texture"),
    "Clarity2012": ("develop", "presence", "clarity"),
    "Dehaze": ("develop", "presence", "dehaze"),
    "Vibrance": ("develop", "presence", "vibrance"),
    "Saturation": ("develop", "presence", "saturation"),
    "Temperature": ("develop", "white_balance", "temperature"),
    "Tint": ("develop", "white_balance", "tint"),
    "ParametricShadows": ("develop", "tone_curve", "shadows"),
    "ParametricDarks": ("develop", "tone_curve", "darks"),
    "ParametricLights": ("develop", "tone_curve", "lights"),
    "ParametricHighlights": ("develop", "tone_curve", "highlights"),
    "ParametricShadowSplit": ("develop", "tone_curve", "shadow_split"),
    "ParametricMidtoneSplit": ("develop", "tone_curve", "midtone_split"),
    "ParametricHighlightSplit": ("develop", "tone_curve", "highlight_split"),
    "SplitToningShadowHue": ("develop", "color_grading", "shadows", "hue"),
    "SplitToningShadowSaturation": ("develop", "color_grading", "shadows", "saturation"),
    "SplitToningHighlightHue": ("develop", "color_grading", "highlights", "hue"),
    "SplitToningHighlightSaturation": ("develop", "color_grading", "highlights", "saturation"),
    "SplitToningBalance": ("develop", "color_grading", "balance"),
    "ColorGradeShadowLum": ("develop", "color_grading", "shadows", "luminance"),
    "ColorGradeHighlightLum": ("develop", "color_grading", "highlights", "luminance"),
    "ColorGradeMidtoneHue": ("develop", "color_grading", "midtones", "hue"),
    "ColorGradeMidtoneSat": ("develop", "color_grading", "midtones", "saturation"),
    "ColorGradeMidtoneLum": ("develop", "color_grading", "midtones", "luminance"),
    "ColorGradeGlobalHue": ("develop", "color_grading", "global", "hue"),
    "ColorGradeGlobalSat": ("develop", "color_grading", "global", "saturation"),
    "ColorGradeGlobalLum": ("develop", "color_grading", "global", "luminance"),
    "ColorGradeBlending": ("develop", "color_grading", "blending"),
    "Sharpness": ("develop", "detail", "sharpening", "amount"),
    "SharpenRadius": ("develop", "detail", "sharpening", "radius"),
    "SharpenDetail": ("develop", "detail", "sharpening", "detail"),
    "SharpenEdgeMasking": ("develop", "detail", "sharpening", "masking"),
    "LuminanceSmoothing": ("develop", "detail", "noise_reduction", "luminance"),
    "LuminanceNoiseReductionDetail": ("develop", "detail", "noise_reduction", "luminance_detail"),
    "ColorNoiseReduction": ("develop", "detail", "noise_reduction", "color"),
    "ColorNoiseReductionDetail": ("develop", "detail", "noise_reduction", "color_detail"),
    "PostCropVignetteAmount": ("develop", "effects", "vignette", "amount"),
    "PostCropVignetteMidpoint": ("develop", "effects", "vignette", "midpoint"),
    "PostCropVignetteRoundness": ("develop", "effects", "vignette", "roundness"),
    "PostCropVignetteFeather": ("develop", "effects", "vignette", "feather"),
    "GrainAmount": ("develop", "effects", "grain", "amount"),
    "GrainSize": ("develop", "effects", "grain", "size"),
    "GrainFrequency": ("develop", "effects", "grain", "roughness"),
}
for _band in _BANDS:
    for _prefix, _attr in (
        ("Hue", "hue"),
        ("Saturation", "saturation"),
        ("Luminance", "luminance"),
    ):
        SCALARS[f"{_prefix}Adjustment{_band}"] = ("develop", "hsl", _band.lower(), _attr)

CURVES: dict[str, str] = {
    "ToneCurvePV2012": "luma",
    "ToneCurvePV2012Red": "red",
    "ToneCurvePV2012Green": "green",
    "ToneCurvePV2012Blue": "blue",
}
# Bookkeeping that says nothing about the look: read silently, never reported as unmapped.
METADATA = {
    "Version",
    "ProcessVersion",
    "PresetType",
    "Cluster",
    "UUID",
    "SupportsAmount",
    "SupportsAmount2",
    "SupportsColor",
    "SupportsMonochrome",
    "SupportsHighDynamicRange",
    "SupportsNormalDynamicRange",
    "SupportsSceneReferred",
    "SupportsOutputReferred",
    "CameraModelRestriction",
    "Copyright",
    "ContactInfo",
    "Name",
    "ShortName",
    "SortName",
    "Group",
    "Description",
    "HasSettings",
    "WhiteBalance",
    "ToneCurveName2012",
    "ToneCurveName",
    "AlreadyApplied",
    "RawFileName",
}
_SIGNED = {"Exposure2012"}


class XmpError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class XmpImport:
    settings: dict[str, Any] = field(default_factory=dict)
    unmapped: list[dict[str, str]] = field(default_factory=list)
    name: str = ""


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _text_list(element: ET.Element) -> list[str]:
    return [(li.text or "").strip() for li in element.iter(f"{{{RDF}}}li")]


def _curve(values: list[str]) -> list[list[float]]:
    points = []
    for value in values:
        x, y = (float(v) for v in value.split(","))
        points.append([round(x / 255, 6), round(y / 255, 6)])
    if points == [[0.0, 0.0], [1.0, 1.0]]:
        return []  # Lightroom's linear curve is the identity
    return points


def import_xmp(data: bytes) -> XmpImport:
    limit = settings.XMP_MAX_BYTES
    if len(data) > limit:
        raise XmpError("too_large", f"XMP files may be at most {limit} bytes.")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmpError("xml_forbidden", "XMP with DTDs or entities is refused.") from exc
    except ET.ParseError as exc:
        raise XmpError("malformed_xml", f"The XMP is not well-formed XML ({exc}).") from exc

    raw: dict[str, str | list[str]] = {}
    for desc in root.iter(f"{{{RDF}}}Description"):
        for attr, value in desc.attrib.items():
            if attr.startswith(f"{{{CRS}}}"):
                raw[attr[len(CRS) + 2 :]] = value
        for child in desc:
            if child.tag.startswith(f"{{{CRS}}}"):
                items = _text_list(child)
                raw[child.tag[len(CRS) + 2 :]] = (
                    items if items or len(child) else (child.text or "").strip()
                )
    if not raw:
        raise XmpError("no_settings", "The file has no Camera Raw (crs:) settings.")

    out = XmpImport()
    name = raw.get("Name")
    out.name = (name[0] if isinstance(name, list) and name else str(name or ""))[:200]
    for key in sorted(raw):
        value = raw[key]
        if key in METADATA:
            continue
        try:
            if key in SCALARS and isinstance(value, str):
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError
                candidate: dict[str, Any] = {}
                _set(candidate, SCALARS[key], number)
            elif key in CURVES and isinstance(value, list):
                candidate = {"develop": {"tone_curve": {CURVES[key]: _curve(value)}}}
            else:
                out.unmapped.append({"name": key, "reason": "not_supported"})
                continue
        except ValueError:
            out.unmapped.append({"name": key, "reason": "not_a_number"})
            continue
        try:
            recipe.parse_partial(candidate)
        except recipe.RecipeError:
            out.unmapped.append({"name": key, "reason": "out_of_range"})
            continue
        out.settings = recipe.deep_merge(out.settings, candidate)
    try:  # settings valid one by one can still clash (tone curve splits out of order)
        recipe.parse_partial(out.settings)
    except recipe.RecipeError as exc:
        raise XmpError(
            "invalid_settings", f"The settings do not fit together: {exc.detail}"
        ) from exc
    return out


def _get(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _number(name: str, value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):+d}" if name not in _SIGNED else f"{value:+.2f}"
    return f"{value:+}"


def export_xmp(edits: dict[str, Any], *, name: str = "") -> bytes:
    """An XMP preset carrying every setting XMP can express."""
    data = recipe.dump(recipe.parse(edits))
    ET.register_namespace("x", X)
    ET.register_namespace("rdf", RDF)
    ET.register_namespace("crs", CRS)
    meta = ET.Element(f"{{{X}}}xmpmeta", {f"{{{X}}}xmptk": "Orlume"})
    rdf = ET.SubElement(meta, f"{{{RDF}}}RDF")
    attrs = {
        f"{{{RDF}}}about": "",
        f"{{{CRS}}}PresetType": "Normal",
        f"{{{CRS}}}Version": "15.0",
        f"{{{CRS}}}ProcessVersion": "11.0",
        f"{{{CRS}}}HasSettings": "True",
    }
    for key, path in SCALARS.items():
        value = _get(data, path)
        if value is None:  # white balance as shot
            attrs[f"{{{CRS}}}WhiteBalance"] = "As Shot"
            continue
        attrs[f"{{{CRS}}}{key}"] = _number(key, value)
    desc = ET.SubElement(rdf, f"{{{RDF}}}Description", attrs)
    if name:
        alt = ET.SubElement(ET.SubElement(desc, f"{{{CRS}}}Name"), f"{{{RDF}}}Alt")
        li = ET.SubElement(alt, f"{{{RDF}}}li", {f"{{{XML}}}lang": "x-default"})
        li.text = name
    for key, channel in CURVES.items():
        points = data["develop"]["tone_curve"][channel] or [[0.0, 0.0], [1.0, 1.0]]
        seq = ET.SubElement(ET.SubElement(desc, f"{{{CRS}}}{key}"), f"{{{RDF}}}Seq")
        for x, y in points:
            ET.SubElement(seq, f"{{{RDF}}}li").text = f"{_fmt255(x)}, {_fmt255(y)}"
    return ET.tostring(meta, encoding="utf-8", xml_declaration=False)


def _fmt255(value: float) -> str:
    scaled = round(value * 255, 4)
    return str(int(scaled)) if scaled.is_integer() else str(scaled)
