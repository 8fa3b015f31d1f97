"""Validating an op batch by its scope (the part of the recipe it changes) decides what
validating the whole recipe decides: the same accept or reject, the same first error and
pointer, the same document afterwards."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collab import pointer, validation
from collab.validation import BatchError, RecipeDoc, Write
from projects import recipe


def _seeded() -> dict[str, Any]:
    """A clean recipe with masks (every shape kind), lights and curve points: lists of models,
    discriminated unions and cross-field rules for random ops to land in."""
    doc = recipe.default()
    doc["develop"]["masks"] = [
        {"id": "m1", "shapes": [{"type": "radial"}, {"type": "linear"}]},
        {
            "id": "m2",
            "shapes": [
                {"type": "brush", "strokes": [{"points": [[0.1, 0.2], [0.3, 0.4]]}]},
                {"type": "color"},
                {"type": "luminosity"},
            ],
        },
    ]
    doc["develop"]["tone_curve"]["luma"] = [[0.0, 0.0], [0.5, 0.6], [1.0, 1.0]]
    doc["lighting"]["lights"] = [
        {"id": "l1", "type": "spot"},
        {"id": "l2", "type": "area", "falloff": "custom", "falloff_curve": [[0, 1], [1, 0]]},
    ]
    return recipe.dump(recipe.parse(doc))


SEEDED = _seeded()


def _places(node: Any, parts: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [parts]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_places(value, (*parts, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_places(value, (*parts, str(index))))
    return out


PLACES = _places(SEEDED)
# Values valid somewhere in the recipe, so random batches are accepted often enough to compare
# documents, not only errors.
SUBTREES = [pointer.get(SEEDED, pointer.format_pointer(p)) for p in PLACES if len(p) <= 4]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 70_000),
    st.floats(-200, 200, allow_nan=False),
    st.sampled_from([0.0, 0.5, 1.0, -1.0, 2.5, 25.0, 50.0, 75.0, 100.0, 1e9]),
    st.sampled_from(["", "x", "jpeg", "radial", "spot", "add", "custom", "srgb", "m1", "l1"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "id", "type"]), inner)
    ),
    max_leaves=6,
)


@st.composite
def writes(draw: st.DrawFn) -> Write:
    parts = list(draw(st.sampled_from(PLACES)))
    here = pointer.get(SEEDED, pointer.format_pointer(parts))
    tails = ["here"] * 6 + ["parent"]
    if isinstance(here, dict | list):
        tails += ["child", "child"]
    if isinstance(here, list):
        tails += ["append", "append"]
    tail = draw(st.sampled_from(tails))
    if tail == "child":
        names = [*map(str, range(len(here)))] if isinstance(here, list) else [*here]
        parts.append(draw(st.sampled_from([*names, "nope", "0", "type", "id"])))
    elif tail == "append":
        parts.append("-")
    elif tail == "parent" and parts:
        parts.pop()
    current = pointer.get(SEEDED, pointer.format_pointer(parts))
    op = draw(st.sampled_from(["set"] * 5 + ["remove"]))
    # Ids collide with their siblings' often: uniqueness is a rule of the list's owner.
    ids = st.sampled_from(["m1", "m2", "l1", "l2"]) if parts and parts[-1] == "id" else st.nothing()
    value = draw(
        st.one_of(
            ids,
            # A small step from the value there now: mostly in range, sometimes not.
            st.floats(-1.5, 1.5, allow_nan=False).map(lambda d: _nudged(current, d)),
            st.floats(-1.5, 1.5, allow_nan=False).map(lambda d: _nudged(current, d)),
            st.just(current).map(copy.deepcopy),
            json_values,
            st.sampled_from(SUBTREES).map(copy.deepcopy),
        )
    )
    return Write(pointer.format_pointer(parts), op, value)


def _nudged(current: Any, step: float) -> Any:
    if current is pointer.MISSING:
        return step
    if isinstance(current, bool) or not isinstance(current, int | float):
        return copy.deepcopy(current)
    if isinstance(current, int):
        return current + round(step * 3)
    return current + step * max(1.0, abs(current))


def _outcomes(batches: list[list[Write]], *, scoped: bool) -> list[Any]:
    """Each batch's outcome, applied one after another to one document (as in one group)."""
    room = RecipeDoc(copy.deepcopy(SEEDED), clean=True)
    out: list[Any] = []
    for batch in batches:
        try:
            prevs = room.apply(batch, scoped=scoped)
        except BatchError as exc:
            out.append(("rejected", exc.code, exc.detail, exc.path, room.doc))
        else:
            out.append(("applied", prevs, room.doc))
    return out


# Rules that look past the changed value, each met once whatever the random draw.
@example([[Write("/develop/masks/1/id", "set", "m1")]])
@example([[Write("/lighting/lights/0/id", "set", "l2")]])
@example([[Write("/develop/geometry/crop/left", "set", 1.0)]])
@example([[Write("/develop/tone_curve/shadow_split", "set", 60)]])
@example([[Write("/develop/tone_curve/luma/1/0", "set", 0.0)]])
@example(
    [[Write("/develop/light/exposure", "set", 1)], [Write("/develop/light/exposure", "set", 9)]]
)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(writes(), min_size=1, max_size=3), min_size=1, max_size=3))
def test_scoped_and_whole_recipe_validation_agree_on_random_batches(
    batches: list[list[Write]],
) -> None:
    # Given a clean recipe and batches of random ops applied to it one after another
    # When each batch is validated by its scope, and by the whole recipe
    scoped = _outcomes(batches, scoped=True)
    whole = _outcomes(batches, scoped=False)
    # Then both decide the same for every batch, with the same error or the same document
    assert scoped == whole


def test_an_exposure_op_validates_the_light_settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the room's clean recipe
    room = RecipeDoc(copy.deepcopy(SEEDED), clean=True)
    checked: list[tuple[Any, ...]] = []
    part = recipe.parse_part
    monkeypatch.setattr(recipe, "parse", lambda data: pytest.fail("the whole recipe was validated"))

    def spy(model: Any, data: Any, loc: Any) -> dict[str, Any]:
        checked.append((model.__name__, loc))
        return part(model, data, loc)

    monkeypatch.setattr(recipe, "parse_part", spy)
    # When an op sets the exposure, then one out of range
    room.apply([Write("/develop/light/exposure", "set", 1)])
    with pytest.raises(BatchError) as refused:
        room.apply([Write("/develop/light/exposure", "set", 9)])
    # Then only the light settings were validated, the value came back as the model's float,
    # and the refusal names the pointer from the recipe's root
    assert checked == [("Light", ("develop", "light"))] * 2
    assert room.doc["develop"]["light"]["exposure"] == 1.0
    assert isinstance(room.doc["develop"]["light"]["exposure"], float)
    assert (refused.value.code, refused.value.path) == ("out_of_range", "/develop/light/exposure")


def test_a_change_under_a_cross_field_rule_is_validated_by_the_model_that_owns_the_rule() -> None:
    # Given lights with unique ids (a rule of the lighting model, above each light)
    room = RecipeDoc(copy.deepcopy(SEEDED), clean=True)
    # When one light takes the other's id
    with pytest.raises(BatchError) as refused:
        room.apply([Write("/lighting/lights/1/id", "set", "l1")])
    # Then the rule refuses it, and the document is as it was
    assert refused.value.path == "/lighting"
    assert room.doc == SEEDED
    assert validation._chain(SEEDED, ["lighting", "lights", "1", "id"])[-1][1].__name__ == (
        "Lighting"
    )


def test_a_document_not_known_to_be_clean_is_validated_whole() -> None:
    # Given a stored recipe the room did not write (defaults missing)
    room = RecipeDoc({"schema_version": 2, "develop": {"light": {}}}, clean=False)
    # When an op sets one value
    room.apply([Write("/develop/light/exposure", "set", 0.5)])
    # Then the whole recipe was validated and dumped: every default is filled in
    assert room.doc == {
        **recipe.default(),
        "develop": {
            **recipe.default()["develop"],
            "light": {**recipe.default()["develop"]["light"], "exposure": 0.5},
        },
    }
