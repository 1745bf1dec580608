"""`rtstyle doctor`: what rtstyle can use on this machine, and how to mend what it cannot."""

from __future__ import annotations

import json
import sys

import click


@click.command(short_help="Check what rtstyle can use here, and how to mend the rest.")
@click.option("--cameras", is_flag=True, help="Also open camera indices 0..9 to see which deliver frames (slow).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(cameras: bool, as_json: bool) -> None:
    """Check what rtstyle can use here: the inference engine and GPU, torch, the video encoders, the window,
    the virtual camera and HEIC extras, the styles, the training weights (and cameras with --cameras).

    Each line says what was found; one marked `missing` (an optional part not installed) or `problem` (installed
    but not working) says what to run or do. Exit code 1 when there is a problem, else 0.
    """
    from rtstyle.doctor import PROBLEM, header, run_checks

    findings = run_checks(with_cameras=cameras)
    if as_json:
        click.echo(json.dumps({"rtstyle": header(), "findings": [f.as_dict() for f in findings]}, indent=2))
    else:
        click.echo(header())
        width = max(len(f.topic) for f in findings)
        for finding in findings:
            click.echo(f"  {finding.status:<8} {finding.topic:<{width}}  {finding.detail}")
            if finding.fix:
                click.echo(f"  {'':<8} {'':<{width}}  -> {finding.fix}")
    if any(f.status == PROBLEM for f in findings):
        sys.exit(1)
