"""Human-readable views of a model card: the terminal report and the markdown summary."""

from __future__ import annotations

from typing import Any

FULL_MATRIX_CLASSES = 12  # beyond this a confusion matrix is a wall; list the worst pairs

REASON_METRICS = ("accuracy", "top3_accuracy", "macro_f1", "log_loss")
CHURN_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "accuracy", "positive_rate")


def _metric_header(card: dict[str, Any]) -> list[str]:
    reference = ["default HGB"] if "default_hgb" in card["metrics"] else []
    return ["metric", "model", *reference, "baseline"]


def _metric_rows(card: dict[str, Any]) -> list[list[str]]:
    """Model, the default HistGradientBoosting beside it (tabular), and the baseline."""
    names = CHURN_METRICS if card["kind"] == "churn" else REASON_METRICS
    metrics = card["metrics"]
    columns = [metrics["model"], *[metrics[k] for k in ("default_hgb",) if k in metrics]]
    columns.append(metrics["baseline"])

    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    return [[n, *(fmt(c.get(n)) for c in columns)] for n in names]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, ["-" * w for w in widths], *rows]
    ]
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _confusions(card: dict[str, Any], limit: int = 10) -> list[list[str]]:
    """The most frequent (true, predicted) mistakes."""
    classes, matrix = card["classes"], card["metrics"]["model"]["confusion_matrix"]
    pairs = [
        (matrix[i][j], classes[i], classes[j])
        for i in range(len(classes))
        for j in range(len(classes))
        if i != j and matrix[i][j]
    ]
    pairs.sort(key=lambda p: -p[0])
    return [[t, p, str(n)] for n, t, p in pairs[:limit]]


def _confusion_section(card: dict[str, Any], table: Any) -> list[str]:
    classes, matrix = card["classes"], card["metrics"]["model"]["confusion_matrix"]
    if len(classes) <= FULL_MATRIX_CLASSES:
        rows = [[c, *map(str, row)] for c, row in zip(classes, matrix, strict=True)]
        return [
            "Confusion matrix (rows: true, columns: predicted):",
            "",
            *table(["true \\ predicted", *classes], rows),
        ]
    return [
        f"Most frequent confusions ({len(classes)} classes; full matrix in the card):",
        "",
        *table(["true", "predicted", "count"], _confusions(card)),
    ]


def _calibration_section(card: dict[str, Any], table: Any) -> list[str]:
    rows = [
        [b["bin"], str(b["count"]), f"{b['mean_predicted']:.3f}", f"{b['observed_rate']:.3f}"]
        for b in card["metrics"]["model"]["calibration"]
    ]
    return [
        "Calibration (test set):",
        "",
        *table(["predicted", "rows", "mean predicted", "observed rate"], rows),
    ]


def _details(card: dict[str, Any], table: Any) -> list[str]:
    if card["kind"] == "churn":
        return _calibration_section(card, table)
    return _confusion_section(card, table)


def _input_name(spec: dict[str, Any]) -> str:
    column = spec.get("column")
    name = f"`{spec['name']}`"
    return name if column in (None, spec["name"]) else f"{name} (column `{column}`)"


def _unseen(card: dict[str, Any]) -> str:
    n = card.get("rows_test_unseen_label") or 0
    return f"; {n} more test rows have a label the training data lacks" if n else ""


def _abstain_lines(card: dict[str, Any]) -> list[str]:
    """The abstain ("none of these") and what it costs and catches on the test rows."""
    rule, scored = card.get("abstain"), card.get("metrics", {}).get("abstain")
    if not rule or not scored:
        return []
    how = (
        f"predicting `{rule['label']}`"
        if rule["method"] == "label"
        else f"top probability below {rule['threshold']:.3f} (chosen on validation rows)"
    )
    recall = scored["out_of_scope_recall"]
    caught = (
        f"out-of-scope recall {recall:.4f} on {scored['out_of_scope_rows']} rows"
        if recall is not None
        else "out-of-scope recall n/a (no test row is out of scope)"
    )
    return [
        f'Abstain ("none of these"): {how}.',
        f"  in-scope accuracy {scored['in_scope_accuracy']:.4f} "
        f"({scored['in_scope_accuracy_without_abstain']:.4f} without abstain, "
        f"{scored['in_scope_abstained']:.1%} of in-scope rows abstained); {caught}",
        "",
    ]


def render_report(card: dict[str, Any]) -> str:
    """What the CLI prints to stdout after training."""
    lines = [
        f"{card['name']}: {card['model_type']} on {card['rows_train']} rows, "
        f"tested on {card['rows_test']} ({card['split']['description']}{_unseen(card)})",
        "",
        *_table(_metric_header(card), _metric_rows(card)),
        "",
        *_details(card, _table),
        "",
        *_abstain_lines(card),
    ]
    if card.get("ignored_columns"):
        lines += ["Ignored columns:"]
        lines += [f"  {c['name']}: {c['reason']}" for c in card["ignored_columns"]] + [""]
    lines += card["warnings"] or ["The model beats the baseline."]
    return "\n".join(lines) + "\n"


def render_markdown(card: dict[str, Any]) -> str:
    """The `<name>.card.md` summary."""
    baseline = "the prior rate" if card["kind"] == "churn" else "always the most frequent class"
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"- kind: `{card['kind']}`; model: `{card['model_type']}` {card.get('params', {})}, "
        f"calibration: {card.get('calibration', 'none')}",
        f"- version `{card['version']}`, trained {card['trained_at']} "
        f"in {card.get('training_seconds', 0):.1f} s",
        f"- data: `{card.get('data_file') or 'in-memory table'}` "
        f"(sha256 `{card['data_sha256'][:16]}…`), label `{card['label']}`",
        f"- rows: {card['rows_train']} train, {card['rows_test']} test; "
        f"split: {card['split']['description']}{_unseen(card)}",
        "- classes (probability columns in this order): "
        + ", ".join(f"`{c}`" for c in card["classes"]),
        "",
    ]
    if card["warnings"]:
        lines += ["## Warnings", "", *[f"- **{w}**" for w in card["warnings"]], ""]
    lines += [
        f"## Metrics (test set; baseline: {baseline})",
        "",
        *_md_table(_metric_header(card), _metric_rows(card)),
        "",
        f"Beats the baseline: **{'yes' if card['beats_baseline'] else 'no'}**",
        "",
    ]
    lines += [*_details(card, _md_table), ""]
    abstain = _abstain_lines(card)
    if abstain:
        lines += ["## Abstain", "", *abstain]
    if card.get("text_column"):
        lines += [
            "## Input text",
            "",
            f"Column `{card['text_column']}`, lowercased and "
            "tokenized inside the graph (unicode words and character n-grams).",
            "",
        ]
    if card.get("features"):
        lines += [
            "## Features",
            "",
            *_md_table(
                ["name", "kind", "encoding"],
                [
                    [
                        f"`{f['name']}`",
                        f["kind"],
                        f"`{f['true']}` = 1, `{f['false']}` = 0" if "true" in f else "",
                    ]
                    for f in card["features"]
                ],
            ),
            "",
        ]
    if card.get("ignored_columns"):
        lines += [
            "## Ignored columns",
            "",
            *_md_table(
                ["name", "reason"],
                [[f"`{c['name']}`", c["reason"]] for c in card["ignored_columns"]],
            ),
            "",
        ]
    lines += [
        "## ONNX contract",
        "",
        f"File `{card['onnx_file']}`, opset {card['opset']}.",
        "",
        *_md_table(
            ["", "name", "dtype", "shape"],
            [["input", _input_name(i), i["dtype"], str(i["shape"])] for i in card["inputs"]]
            + [["output", f"`{o['name']}`", o["dtype"], str(o["shape"])] for o in card["outputs"]],
        ),
        "",
    ]
    return "\n".join(lines)
