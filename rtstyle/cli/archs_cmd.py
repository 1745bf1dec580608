"""`rtstyle archs`: the registered network architectures with their cost, to choose `--arch` by."""

from __future__ import annotations

import json
from typing import Any

import click

from rtstyle.models.registry import available_models, create_spec
from rtstyle.models.spec import NetSpec


def receptive_field(spec: NetSpec) -> int:
    """Input pixels one output pixel can see (theoretical, along one axis): how large a pattern the net can use."""
    field, step = 1.0, 1.0  # step: distance in input pixels between neighbouring positions of the current level
    for conv in spec.convs():
        step /= conv.upsample
        field += (conv.kernel - 1) * step
        step *= conv.stride
    return round(field)


def architecture_rows() -> list[dict[str, Any]]:
    """One row per registered architecture at its default hyperparameters."""
    johnson_cost = create_spec("johnson").macs_per_pixel() if "johnson" in available_models() else None
    rows = []
    for name in available_models():
        spec = create_spec(name)
        macs = spec.macs_per_pixel()
        rows.append({
            "name": name,
            "kwargs": dict(spec.kwargs),
            "macs_per_pixel": macs,
            "params": spec.num_params(),
            "receptive_field": receptive_field(spec),
            "vs_johnson": johnson_cost / macs if johnson_cost else None,
        })
    return rows


@click.command(short_help="List the network architectures (for --arch) and their cost.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def archs(as_json: bool) -> None:
    """List the network architectures (for `--arch`) with their cost: MACs per pixel and parameters."""
    rows = architecture_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(str(r["name"])) for r in rows)
    click.echo(f"{'arch':<{width}}  {'MAC/px':>8}  {'params':>9}  {'cheaper':>7}  {'field':>6}  defaults")
    for r in rows:
        kwargs = ", ".join(f"{k}={v}" for k, v in r["kwargs"].items())
        ratio = f"{r['vs_johnson']:.0f}x" if r["vs_johnson"] else "-"
        click.echo(f"{r['name']:<{width}}  {r['macs_per_pixel'] / 1000:>7.1f}k  {r['params']:>9,}  {ratio:>7}  "
                   f"{r['receptive_field']:>4}px  {kwargs}")
    click.echo("\nMAC/px: multiply-adds per input pixel; 'cheaper': johnson's MAC/px divided by the arch's;\n"
               "field: receptive field, the input pixels one output pixel depends on (along one axis).")
