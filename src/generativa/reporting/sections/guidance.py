"""Report section of every model that can be guided (classifier-free guidance, ``models/guidance.py``:
a conditional model with a trained "no class" token, ``model.null_label``): each class at several
guidance scales, the same random numbers
in every row, so that the rows differ only by the scale."""

from __future__ import annotations

import torch

from generativa.reporting.html import Section, image_grid_html

GUIDANCE_SCALES = (1.0, 2.0, 4.0)


def sections(ctx) -> list[Section]:
    model, caps = ctx.model, ctx.capabilities
    if getattr(model, "null_label", None) is None or not caps.accepts("labels") or len(model.data_shape) != 3:
        return []
    model.eval()
    k = model.config.num_classes
    with torch.no_grad():
        rows = [model.sample(k, generator=torch.Generator().manual_seed(2), labels=torch.arange(k), guidance=w)
                for w in GUIDANCE_SCALES]
    text = ("<p>Each class (columns) at guidance scale " + ", ".join(f"{w:g}" for w in GUIDANCE_SCALES)
            + " (rows; 1 is the conditional model, larger scales lean towards what sets the class apart), "
            "the same random numbers in every row.</p>")
    return [Section("Classifier-free guidance", text + image_grid_html(torch.cat(rows), nrow=k, alt="guidance"),
                    order=31)]
