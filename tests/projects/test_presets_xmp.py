from __future__ import annotations

from typing import Any

import pytest

from projects import recipe, xmp
from projects.models import Preset, Project
from tests.factories import UserFactory
from tests.projects.conftest import Cast, client_for

# A Lightroom Classic preset as it writes them: settings as crs: attributes, the name and the
# point curves as elements. Here the crs namespace is bound to an unusual prefix on purpose.
LIGHTROOM_PRESET = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:cr="http://ns.adobe.com/camera-raw-settings/1.0/"
   cr:PresetType="Normal" cr:Cluster="" cr:UUID="8A1B7C62D2E14A0C9C5F6C1D2E3F4A5B"
   cr:SupportsAmount="False" cr:SupportsColor="True" cr:SupportsMonochrome="True"
   cr:Version="15.0" cr:ProcessVersion="11.0"
   cr:WhiteBalance="Custom" cr:Temperature="5600" cr:Tint="+12"
   cr:Exposure2012="+0.50" cr:Contrast2012="+15" cr:Highlights2012="-40" cr:Shadows2012="+35"
   cr:Whites2012="+10" cr:Blacks2012="-12" cr:Texture="+8" cr:Clarity2012="+20" cr:Dehaze="+5"
   cr:Vibrance="+18" cr:Saturation="-5"
   cr:ParametricShadows="-10" cr:ParametricDarks="+5" cr:ParametricLights="+7"
   cr:ParametricHighlights="-15" cr:ParametricShadowSplit="25" cr:ParametricMidtoneSplit="50"
   cr:ParametricHighlightSplit="75"
   cr:HueAdjustmentRed="+5" cr:HueAdjustmentOrange="-8" cr:HueAdjustmentBlue="-20"
   cr:SaturationAdjustmentOrange="-10" cr:SaturationAdjustmentAqua="+25"
   cr:LuminanceAdjustmentOrange="+12" cr:LuminanceAdjustmentBlue="-30"
   cr:SplitToningShadowHue="220" cr:SplitToningShadowSaturation="15"
   cr:SplitToningHighlightHue="45" cr:SplitToningHighlightSaturation="20"
   cr:SplitToningBalance="-10" cr:ColorGradeMidtoneHue="30" cr:ColorGradeMidtoneSat="6"
   cr:ColorGradeShadowLum="-5" cr:ColorGradeHighlightLum="+4" cr:ColorGradeMidtoneLum="0"
   cr:ColorGradeGlobalHue="200" cr:ColorGradeGlobalSat="3" cr:ColorGradeBlending="60"
   cr:Sharpness="40" cr:SharpenRadius="+1.2" cr:SharpenDetail="30" cr:SharpenEdgeMasking="20"
   cr:LuminanceSmoothing="15" cr:LuminanceNoiseReductionDetail="50" cr:ColorNoiseReduction="25"
   cr:ColorNoiseReductionDetail="50"
   cr:PostCropVignetteAmount="-18" cr:PostCropVignetteMidpoint="40"
   cr:PostCropVignetteRoundness="+10" cr:PostCropVignetteFeather="70"
   cr:GrainAmount="22" cr:GrainSize="30" cr:GrainFrequency="55"
   cr:LensProfileEnable="1" cr:AutoLateralCA="1" cr:Contrast2012Bogus="x"
   cr:HasSettings="True">
   <cr:Name><rdf:Alt><rdf:li xml:lang="x-default">Warm Film</rdf:li></rdf:Alt></cr:Name>
   <cr:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>64, 56</rdf:li><rdf:li>192, 200</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></cr:ToneCurvePV2012>
   <cr:ToneCurvePV2012Red><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></cr:ToneCurvePV2012Red>
   <cr:Vibrance>+18</cr:Vibrance>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def _expected() -> dict[str, Any]:
    develop: dict[str, Any] = {
        "white_balance": {"temperature": 5600, "tint": 12},
        "light": {
            "exposure": 0.5,
            "contrast": 15,
            "highlights": -40,
            "shadows": 35,
            "whites": 10,
            "blacks": -12,
        },
        "presence": {"texture": 8, "clarity": 20, "dehaze": 5, "vibrance": 18, "saturation": -5},
        "tone_curve": {
            "shadows": -10,
            "darks": 5,
            "lights": 7,
            "highlights": -15,
            "shadow_split": 25,
            "midtone_split": 50,
            "highlight_split": 75,
            "luma": [
                [0, 0],
                [round(64 / 255, 6), round(56 / 255, 6)],
                [round(192 / 255, 6), round(200 / 255, 6)],
                [1, 1],
            ],
            "red": [],
        },
        "hsl": {
            "red": {"hue": 5},
            "orange": {"hue": -8, "saturation": -10, "luminance": 12},
            "aqua": {"saturation": 25},
            "blue": {"hue": -20, "luminance": -30},
        },
        "color_grading": {
            "shadows": {"hue": 220, "saturation": 15, "luminance": -5},
            "highlights": {"hue": 45, "saturation": 20, "luminance": 4},
            "midtones": {"hue": 30, "saturation": 6, "luminance": 0},
            "global": {"hue": 200, "saturation": 3},
            "balance": -10,
            "blending": 60,
        },
        "detail": {
            "sharpening": {"amount": 40, "radius": 1.2, "detail": 30, "masking": 20},
            "noise_reduction": {
                "luminance": 15,
                "luminance_detail": 50,
                "color": 25,
                "color_detail": 50,
            },
        },
        "effects": {
            "vignette": {"amount": -18, "midpoint": 40, "roundness": 10, "feather": 70},
            "grain": {"amount": 22, "size": 30, "roughness": 55},
        },
    }
    return recipe.dump(recipe.parse(recipe.deep_merge(recipe.default(), {"develop": develop})))


def test_a_lightroom_preset_imports_to_the_expected_recipe_and_reports_the_rest(db: Any) -> None:
    owner = UserFactory()
    response = client_for(owner).generic(
        "POST", "/api/v1/presets/import", LIGHTROOM_PRESET, content_type="application/rdf+xml"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["preset"]["name"] == "Warm Film"
    assert sorted(u["name"] for u in body["unmapped"]) == [
        "AutoLateralCA",
        "Contrast2012Bogus",
        "LensProfileEnable",
    ]
    merged = recipe.deep_merge(recipe.default(), Preset.objects.get().settings_json)
    assert recipe.dump(recipe.parse(merged)) == _expected()


def test_export_then_import_gives_back_the_same_recipe(db: Any) -> None:
    original = _expected()
    original["develop"]["white_balance"]["temperature"] = None  # as shot travels too
    original["develop"]["light"]["exposure"] = -1.37

    exported = xmp.export_xmp(original, name="Round trip")
    back = xmp.import_xmp(exported)

    assert back.unmapped == []
    assert back.name == "Round trip"
    assert recipe.dump(recipe.parse(recipe.deep_merge(recipe.default(), back.settings))) == original


def test_importing_xmp_onto_a_project_makes_a_new_version(cast: Cast) -> None:
    response = cast.client("editor").generic(
        "POST",
        f"/api/v1/projects/{cast.project.pk}/xmp",
        LIGHTROOM_PRESET,
        content_type="application/rdf+xml",
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["edits"] == _expected()
    exported = cast.client("viewer").get(f"/api/v1/projects/{cast.project.pk}/xmp")
    assert exported["Content-Type"] == "application/rdf+xml"
    assert b'crs:Exposure2012="+0.50"' in exported.content


@pytest.mark.parametrize(
    ("document", "status", "code"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<r>&b;</r>",
            400,
            "xml_forbidden",
        ),
        (
            b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b" " * 300_000 + b"</x:xmpmeta>",
            413,
            "too_large",
        ),
        (b"<not closed", 400, "malformed_xml"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", 400, "no_settings"),
    ],
)
def test_hostile_or_empty_xmp_is_refused_and_nothing_is_written(
    cast: Cast, document: bytes, status: int, code: str
) -> None:
    response = cast.client("owner").generic(
        "POST",
        f"/api/v1/projects/{cast.project.pk}/xmp",
        document,
        content_type="application/rdf+xml",
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Project.objects.get(pk=cast.project.pk).version == 1


def test_many_megabytes_of_xmp_stop_at_the_body_limit(cast: Cast) -> None:
    response = cast.client("owner").generic(
        "POST",
        "/api/v1/presets/import",
        b" " * (3 * 1024 * 1024),
        content_type="application/rdf+xml",
    )
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_a_preset_saves_part_of_a_recipe_and_applies_as_a_new_version(cast: Cast) -> None:
    client = cast.client("editor")
    made = client.post(
        "/api/v1/presets",
        {
            "name": "Bright",
            "settings": {"develop": {"light": {"exposure": 1.2}, "presence": {"vibrance": 30}}},
        },
        format="json",
    )
    assert made.status_code == 201
    bad = client.post(
        "/api/v1/presets",
        {"name": "Bad", "settings": {"develop": {"light": {"exposure": 7}}}},
        format="json",
    )
    assert (bad.json()["code"], bad.json()["pointer"]) == (
        "out_of_range",
        "/develop/light/exposure",
    )
    assert (
        client.post(
            "/api/v1/presets", {"name": "Bright", "settings": {}}, format="json"
        ).status_code
        == 409
    )
    assert [p["name"] for p in client.get("/api/v1/presets").json()["results"]] == ["Bright"]

    applied = client.post(
        f"/api/v1/projects/{cast.project.pk}/apply-preset",
        {"preset_id": made.json()["id"]},
        format="json",
    )

    assert applied.json()["version"] == 2
    assert applied.json()["edits"]["develop"]["light"]["exposure"] == 1.2
    assert applied.json()["edits"]["develop"]["light"]["contrast"] == 0
    other = cast.client("owner").post(
        f"/api/v1/projects/{cast.project.pk}/apply-preset",
        {"preset_id": made.json()["id"]},
        format="json",
    )
    assert other.status_code == 404  # presets are private to their owner
