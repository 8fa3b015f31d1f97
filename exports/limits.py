"""Plan limits for exports (the roadmap's matrix).

| plan       | long edge        | formats                    | watermark |
|------------|------------------|----------------------------|-----------|
| free       | 1280 (720p)      | PNG, JPEG                  | yes       |
| pro, team  | 3840 (4K)        | PNG, JPEG, TIFF, WebP      | no        |
| enterprise | 7680 (8K)        | PNG, JPEG, TIFF, WebP, AVIF| no        |

AVIF is enterprise-only: the matrix names it for no lower plan and it is the slowest encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

from orlume_site.api.errors import APIError

FORMATS = ("png", "jpeg", "tiff", "webp", "avif")


@dataclass(frozen=True)
class PlanLimits:
    plan: str
    label: str
    long_edge: int
    long_edge_label: str
    formats: tuple[str, ...]
    watermark: bool


PLANS: dict[str, PlanLimits] = {
    "free": PlanLimits("free", "Free", 1280, "720p (1280 px)", ("png", "jpeg"), True),
    "pro": PlanLimits("pro", "Pro", 3840, "4K (3840 px)", ("png", "jpeg", "tiff", "webp"), False),
    "team": PlanLimits(
        "team", "Team", 3840, "4K (3840 px)", ("png", "jpeg", "tiff", "webp"), False
    ),
    "enterprise": PlanLimits("enterprise", "Enterprise", 7680, "8K (7680 px)", FORMATS, False),
}
_ORDER = ("free", "pro", "team", "enterprise")


def limits_for(plan: str) -> PlanLimits:
    return PLANS.get(plan, PLANS["free"])


def _lifting_plan(ok: object) -> PlanLimits:
    for name in _ORDER:
        if ok(PLANS[name]):  # type: ignore[operator]
            return PLANS[name]
    return PLANS["enterprise"]  # pragma: no cover - every limit is lifted by some plan


def check_format(plan: str, fmt: str) -> None:
    limits = limits_for(plan)
    if fmt in limits.formats:
        return
    lifts = _lifting_plan(lambda p: fmt in p.formats)
    allowed = ", ".join(f.upper() for f in limits.formats)
    raise APIError(
        "plan_limit_format",
        f"{fmt.upper()} export needs the {lifts.label} plan or above; "
        f"the {limits.label} plan exports {allowed}.",
        status_code=403,
        field="format",
    )


def check_long_edge(plan: str, long_edge: int, *, field: str) -> None:
    limits = limits_for(plan)
    if long_edge <= limits.long_edge:
        return
    lifts = _lifting_plan(lambda p: long_edge <= p.long_edge)
    if long_edge > PLANS["enterprise"].long_edge:
        detail = (
            f"{long_edge} px is beyond the largest export ({PLANS['enterprise'].long_edge_label}, "
            "Enterprise plan)."
        )
    else:
        detail = (
            f"A {long_edge} px export needs the {lifts.label} plan or above; the {limits.label} "
            f"plan exports up to {limits.long_edge_label} on the long edge."
        )
    raise APIError("plan_limit_size", detail, status_code=403, field=field)
