"""Render files without the server: `manage.py render IN... --recipe R.json --format jpeg --out D`.

The recipe is a recipe's JSON (whole or partial: merged onto the default) or an XMP preset
(Camera Raw settings). The same chain as export jobs (exports.rendering), on the best backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from exports import limits, rendering, services
from kernels import io as kio
from kernels.params import DevelopSettings
from projects import recipe as recipes
from projects import xmp


def load_develop(path: Path | None) -> DevelopSettings:
    if path is None:
        return recipes.parse(recipes.default()).develop
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read the recipe {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".xmp" or data.lstrip()[:1] == b"<":
            partial: Any = xmp.import_xmp(data).settings
        else:
            partial = json.loads(data)
        if not isinstance(partial, dict):
            raise CommandError(f"{path}: a recipe is a JSON object")
        if "schema_version" not in partial:
            partial = recipes.deep_merge(recipes.default(), partial)
        return recipes.parse(partial).develop
    except xmp.XmpError as exc:
        raise CommandError(f"{path}: {exc.detail}") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except recipes.RecipeError as exc:
        raise CommandError(f"{path}: {exc.detail} (at {exc.pointer or '/'})") from None


class Command(BaseCommand):
    help = "Render image files with a recipe or XMP preset, without the server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
        parser.add_argument("--recipe", type=Path, help="recipe JSON (whole or partial) or .xmp")
        parser.add_argument("--format", default="jpeg", choices=limits.FORMATS)
        parser.add_argument("--out", type=Path, required=True, help="output directory")
        parser.add_argument("--quality", type=int, default=90)
        parser.add_argument("--bit-depth", type=int, default=8, choices=[8, 16, 32])
        parser.add_argument("--long-edge", type=int, default=None)
        parser.add_argument("--profile", default="srgb", choices=services.PROFILES)
        parser.add_argument(
            "--metadata", default="copyright_and_camera", choices=services.METADATA_POLICIES
        )
        parser.add_argument("--backend", default="auto", help="auto (best), cpu or cuda")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        develop = load_develop(opts["recipe"])
        try:
            services.ExportOptions(format=opts["format"], bit_depth=opts["bit_depth"]).check()
        except Exception as exc:
            raise CommandError(str(getattr(exc, "detail", exc))) from None
        options = rendering.RenderOptions(
            format=opts["format"],
            quality=opts["quality"],
            bit_depth=opts["bit_depth"],
            profile=opts["profile"],
            metadata_policy=opts["metadata"],
            long_edge=opts["long_edge"],
        )
        out_dir: Path = opts["out"]
        out_dir.mkdir(parents=True, exist_ok=True)
        backend = opts["backend"]
        if backend == "auto":
            backend = rendering.best_backend()
        self.stderr.write(f"backend: {backend}, renderer {rendering.renderer_version()}")
        failures = 0
        ext = services.EXTENSIONS[opts["format"]]
        bar = tqdm(opts["inputs"], unit="file", disable=opts["no_progress"], file=self.stderr)
        for source in bar:
            bar.set_postfix_str(source.name)
            target = out_dir / f"{source.stem}.{ext}"
            try:
                data = rendering.render_file(
                    source.read_bytes(),
                    develop,
                    options,
                    backend=backend,
                )
            except (OSError, kio.ImageIOError, ValueError) as exc:
                failures += 1
                tqdm.write(f"{source}: failed: {exc}", file=self.stderr)
                continue
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            self.stdout.write(str(target))
        if failures:
            raise CommandError(f"{failures} of {len(opts['inputs'])} files failed")
