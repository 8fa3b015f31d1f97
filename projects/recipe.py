"""The edit recipe: everything needed to re-render a project from its original.

    {"schema_version": 2, "develop": DevelopSettings, "lighting": {...}, "output": {...}}

Develop settings (tone, curves, HSL, colour grading, detail, effects, lens, geometry, masks with
their local adjustments) are the kernels' own parameter models, embedded, never copied.

Older schema versions are migrated forward on read (`migrate`), so stored JSON of any version
loads. Validation errors carry the JSON pointer of the bad value (`RecipeError.pointer`).
"""

from __future__ import annotations

import copy
import itertools
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kernels.params import DevelopSettings

SCHEMA_VERSION = 2
# Structural limits checked before pydantic sees the data, so hostile JSON costs little.
MAX_DEPTH = 16
MAX_NODES = 50_000

Unit = Annotated[float, Field(ge=0, le=1)]
Coord = Annotated[float, Field(ge=-100, le=100)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LightType(StrEnum):
    POINT = "point"
    DIRECTIONAL = "directional"
    SPOT = "spot"
    AREA = "area"


class Falloff(StrEnum):
    LINEAR = "linear"
    QUADRATIC = "quadratic"
    CUSTOM = "custom"


class Vec3(_Model):
    x: Coord = 0.0
    y: Coord = 0.0
    z: Coord = 0.0


class Colour(_Model):
    """Linear RGB, 0..1 per channel."""

    r: Unit = 1.0
    g: Unit = 1.0
    b: Unit = 1.0


class Specular(_Model):
    shininess: Annotated[float, Field(ge=1, le=1024)] = 32.0
    roughness: Unit = 0.5


class RelightLight(_Model):
    """A virtual light. Positions are in image space (x, y in 0..1 over the image, z toward the
    viewer, in image widths); directions need not be normalised."""

    id: str = Field(min_length=1, max_length=64)
    type: LightType
    enabled: bool = True
    position: Vec3 = Field(default_factory=lambda: Vec3(x=0.5, y=0.5, z=1.0))
    direction: Vec3 = Field(default_factory=lambda: Vec3(x=0.0, y=0.0, z=-1.0))
    color: Colour = Field(default_factory=Colour)
    intensity: Annotated[float, Field(ge=0, le=100)] = 1.0
    # Spot cone, degrees from the axis: full inside `inner_angle`, nothing beyond `outer_angle`.
    inner_angle: Annotated[float, Field(ge=0, le=90)] = 20.0
    outer_angle: Annotated[float, Field(ge=0, le=90)] = 30.0
    radius: Annotated[float, Field(ge=0, le=10)] = 0.1  # area lights
    falloff: Falloff = Falloff.QUADRATIC
    # Custom falloff: (normalised distance, attenuation) points, x strictly increasing.
    falloff_curve: list[tuple[Unit, Unit]] = Field(default_factory=list, max_length=32)
    shadow_softness: Unit = 0.5
    specular: Specular = Field(default_factory=Specular)

    @model_validator(mode="after")
    def _consistent(self) -> RelightLight:
        if self.outer_angle < self.inner_angle:
            raise ValueError("outer_angle must be at least inner_angle")
        if self.falloff == Falloff.CUSTOM and len(self.falloff_curve) < 2:
            raise ValueError("a custom falloff needs a falloff_curve of at least two points")
        xs = [x for x, _ in self.falloff_curve]
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ValueError("falloff_curve points must have strictly increasing x")
        return self


class Ambient(_Model):
    color: Colour = Field(default_factory=Colour)
    intensity: Annotated[float, Field(ge=0, le=10)] = 0.0


class Lighting(_Model):
    enabled: bool = False
    ambient: Ambient = Field(default_factory=Ambient)
    lights: list[RelightLight] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _unique_ids(self) -> Lighting:
        ids = [light.id for light in self.lights]
        if len(ids) != len(set(ids)):
            raise ValueError("light ids must be unique")
        return self


class OutputDefaults(_Model):
    format: Literal["jpeg", "png", "tiff", "webp", "avif"] = "jpeg"
    quality: Annotated[int, Field(ge=1, le=100)] = 90
    long_edge: Annotated[int, Field(ge=16, le=65_535)] | None = None  # None: full size
    color_space: Literal["srgb", "display-p3", "adobe-rgb", "prophoto-rgb"] = "srgb"
    bit_depth: Literal[8, 16] = 8
    embed_metadata: bool = True


class Recipe(_Model):
    schema_version: Literal[2] = 2
    develop: DevelopSettings = Field(default_factory=DevelopSettings)
    lighting: Lighting = Field(default_factory=Lighting)
    output: OutputDefaults = Field(default_factory=OutputDefaults)


# --- errors ------------------------------------------------------------------------------------


def pointer(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """RFC 6901 JSON pointer for a location path."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


class RecipeError(ValueError):
    def __init__(self, code: str, detail: str, loc: tuple[int | str, ...] = ()) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.loc = loc

    @property
    def pointer(self) -> str:
        return pointer(self.loc)


def _structure_check(data: Any) -> None:
    """Refuses deep nesting and huge documents before validation walks them."""
    nodes = 0
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise RecipeError("too_large", f"The recipe has more than {MAX_NODES} values.", loc)
        if len(loc) > MAX_DEPTH:
            raise RecipeError("too_deep", f"The recipe nests deeper than {MAX_DEPTH} levels.", loc)
        if isinstance(value, dict):
            stack.extend((v, (*loc, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))


def _first_error(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> RecipeError:
    err = exc.errors(include_url=False)[0]
    loc = _strip_union_tags((*prefix, *err["loc"]))
    code = {"extra_forbidden": "unknown_field", "missing": "required"}.get(err["type"], "invalid")
    if err["type"].endswith(("_type", "_parsing")):
        code = "wrong_type"
    elif err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        code = "out_of_range"
    elif err["type"] in ("too_long", "too_short"):
        code = "bad_length"
    return RecipeError(code, f"{err['msg']}.", loc)


def _strip_union_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Discriminated unions (mask shapes) add the tag ("linear", "radial", ...) after the list
    # index; a pointer names positions in the document, so tags are left out.
    out: list[int | str] = []
    for part in loc:
        if (
            len(out) >= 2
            and out[-2] == "shapes"
            and isinstance(out[-1], int)
            and isinstance(part, str)
            and part in _SHAPE_TAGS
        ):
            continue
        out.append(part)
    return tuple(out)


_SHAPE_TAGS = {"linear", "radial", "brush", "luminosity", "color", "bitmap"}


# --- migration ---------------------------------------------------------------------------------

_DEVELOP_KEYS = set(DevelopSettings.model_fields) | {"global"}


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept develop settings at the top level and named relighting `lights`."""
    out: dict[str, Any] = {"schema_version": 2}
    develop = {k: v for k, v in data.items() if k in DevelopSettings.model_fields}
    if develop:
        out["develop"] = develop
    if "lights" in data:
        out["lighting"] = {"enabled": bool(data["lights"]), "lights": data["lights"]}
    if "output" in data:
        out["output"] = data["output"]
    rest = set(data) - set(DevelopSettings.model_fields) - {"schema_version", "lights", "output"}
    for key in rest:  # unknown keys are kept so validation names them
        out[key] = data[key]
    return out


_MIGRATIONS = {1: _v1_to_v2}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Brings stored recipe JSON of any older schema version to the current one."""
    data = copy.deepcopy(data)
    version = data.get("schema_version", 1 if data else SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecipeError("wrong_type", "schema_version must be an integer.", ("schema_version",))
    if version > SCHEMA_VERSION or version < 1:
        raise RecipeError(
            "unsupported_version",
            f"schema_version {version} is not supported (1..{SCHEMA_VERSION}).",
            ("schema_version",),
        )
    while version < SCHEMA_VERSION:
        data = _MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


def parse(data: Any) -> Recipe:
    """Validates recipe JSON (of any supported schema version). Raises RecipeError."""
    if not isinstance(data, dict):
        raise RecipeError("wrong_type", "The recipe must be a JSON object.")
    _structure_check(data)
    try:
        return Recipe.model_validate(migrate(data))
    except ValidationError as exc:
        raise _first_error(exc) from None


def parse_part(model: type[BaseModel], data: Any, loc: tuple[int | str, ...]) -> dict[str, Any]:
    """Validates the part of a recipe at `loc` (a `model` there) and returns it as `dump` would
    write it; errors carry pointers from the recipe's root. For callers that know the rest of
    the recipe is valid and that nothing above `loc` constrains it (collab.validation)."""
    try:
        return model.model_validate(data).model_dump(mode="json", by_alias=True)
    except ValidationError as exc:
        raise _first_error(exc, loc) from None


def dump(recipe: Recipe) -> dict[str, Any]:
    return recipe.model_dump(mode="json", by_alias=True)


def default() -> dict[str, Any]:
    return dump(Recipe())


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7396) without deletion: objects merge, everything else replaces."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_partial(partial: Any) -> dict[str, Any]:
    """Validates part of a recipe (a preset) by merging it onto the default; returns it as given
    (normalised to schema version 2 paths)."""
    if not isinstance(partial, dict):
        raise RecipeError("wrong_type", "Preset settings must be a JSON object.")
    _structure_check(partial)
    partial = {k: v for k, v in partial.items() if k != "schema_version"}
    parse(deep_merge(default(), partial))
    return partial


def json_schema() -> dict[str, Any]:
    schema = Recipe.model_json_schema(by_alias=True)
    schema["$id"] = f"https://orlume.app/schemas/recipe/v{SCHEMA_VERSION}.json"
    schema["title"] = "Orlume edit recipe"
    return schema
