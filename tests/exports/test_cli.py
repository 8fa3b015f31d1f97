"""`manage.py render` renders files without the server, from a recipe JSON or an XMP preset."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from tests.exports.conftest import photo_bytes

XMP = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+1.00"/>
</rdf:RDF></x:xmpmeta>"""


def mean_of(path: Path) -> float:
    return float(np.asarray(Image.open(path).convert("L"), dtype=np.float32).mean())


def test_render_writes_one_file_per_input_in_the_format_and_size_asked(tmp_path: Path) -> None:
    inputs = []
    for n in range(2):
        path = tmp_path / f"in{n}.jpg"
        path.write_bytes(photo_bytes(80, 60, seed=n))
        inputs.append(str(path))
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"develop": {"light": {"exposure": 0.5}}}))
    out = io.StringIO()
    call_command(
        "render",
        *inputs,
        "--recipe",
        str(recipe),
        "--format",
        "png",
        "--long-edge",
        "40",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        stdout=out,
    )
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == ["in0.png", "in1.png"]
    assert Image.open(written[0]).size == (40, 30)
    assert out.getvalue().split() == [str(p) for p in written]


def test_an_xmp_preset_is_a_recipe_and_brightens_like_its_exposure(tmp_path: Path) -> None:
    source = tmp_path / "in.jpg"
    source.write_bytes(photo_bytes(64, 48))
    preset = tmp_path / "bright.xmp"
    preset.write_bytes(XMP)
    call_command(
        "render",
        str(source),
        "--out",
        str(tmp_path / "plain"),
        "--no-progress",
        stdout=io.StringIO(),
    )
    call_command(
        "render",
        str(source),
        "--recipe",
        str(preset),
        "--out",
        str(tmp_path / "xmp"),
        "--no-progress",
        stdout=io.StringIO(),
    )
    assert mean_of(tmp_path / "xmp" / "in.jpg") > mean_of(tmp_path / "plain" / "in.jpg") + 10


def test_a_bad_recipe_or_a_broken_input_is_a_clear_error(tmp_path: Path) -> None:
    recipe = tmp_path / "bad.json"
    recipe.write_text(json.dumps({"develop": {"light": {"exposure": 99}}}))
    good = tmp_path / "good.jpg"
    good.write_bytes(photo_bytes(32, 24))
    with pytest.raises(CommandError, match="/develop/light/exposure"):
        call_command("render", str(good), "--recipe", str(recipe), "--out", str(tmp_path))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(CommandError, match="1 of 2 files failed"):
        call_command(
            "render",
            str(broken),
            str(good),
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert (tmp_path / "o" / "good.jpg").exists()
