"""Report section: the evaluation protocol's numbers (metrics.json, ``"evaluation"``), each next to
its real-vs-real floor, with the protocol that produced them; for classifiers, the confusion matrix."""

from __future__ import annotations

import html

from generativa.reporting.html import Section, figure_html, table_html


def sections(ctx) -> list[Section]:
    run = ctx.run
    result = run.metrics().get("evaluation")
    if not result:
        return [Section("Evaluation", "<p>Not evaluated yet: run <code>generativa evaluate "
                        f"{html.escape(str(run.path))}</code>, then this report again.</p>", order=41)]
    from generativa.evaluation.protocol import confusion_figure, format_value, protocol_summary, table_rows

    rows = [{k: (format_value(v) if isinstance(v, float) else v) for k, v in r.items()} for r in table_rows(result)]
    parts = [
        "<p>Each sample metric is shown next to its floor: the same metric between train-split and "
        "test-split examples of the same size, what a perfect generator would score.</p>",
        table_html(rows),
        "<pre>" + html.escape(protocol_summary(result)) + "</pre>",
    ]
    confusion = result.get("metrics", {}).get("confusion_matrix")
    if confusion:
        parts.append(figure_html(confusion_figure(confusion), alt="confusion matrix"))
    return [Section("Evaluation", "".join(parts), order=41)]
