"""The benchmark's results in words and tables (no refportal import: tests/core/test_docs.py reads it to
check that the README's figures are the results', not typed): the one summary table, each page at each
size, the mail line and the README's block."""

from __future__ import annotations

from pathlib import Path

FLOOR_TARGET = 0.7  # refportal's req/s ÷ the same-page floor's, every key page
TAIL_TARGET = 3.0  # p99 ÷ p50
MAIL_TARGET = 0.8  # smtplib's time ÷ refportal's sender's, in every run

GROWTH_TARGET = 1.3  # p50 at the largest size ÷ p50 at the smallest


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def ratio(page: dict, floor: str) -> float | None:
    """refportal's req/s ÷ a floor's ("floor": the same-page floor, "best": the best-query floor)."""
    return page["rps"] / page[floor]["rps"] if floor in page else None


def summary_table(report: dict) -> list[str]:
    """The one table: per page, p50 at each size and its growth, × same-page and × best-query floor at
    each size, the worst p99/p50, the statements; then mail and memory."""
    sizes = sorted(report["sizes"])
    small = report["sizes"][sizes[0]]
    each = " / ".join(f"{n:,}" for n in sizes)
    lines = [
        f"Measured {report['date']} on {report['machine']}; wrk {report['connections']} connections × "
        f"{report['duration_s']} s per page, gunicorn 2 workers for each app. Sizes: {each} applications "
        "(as many endorsements in the registry). × same-page: refportal's req/s ÷ the same-page floor's (the "
        "page's bytes from plain Flask, refportal's statements, one template); × best-query: ÷ the best-query "
        "floor's (the same bytes from the statements the page's data needs alone), where there is one.",
        "",
        f"| page | p50 ms ({each}) | p50 {sizes[-1]:,} ÷ {sizes[0]:,} | × same-page ({each}) | "
        f"× best-query ({each}) | worst p99/p50 | SQL statements |",
        "|---|---|---|---|---|---|---|",
    ]
    names = [name for name in small["pages"]]
    for name in names:
        pages = [report["sizes"][n]["pages"][name] for n in sizes]
        growth = pages[-1]["p50_ms"] / pages[0]["p50_ms"]
        same = [
            (ratio(page, "floor"), report["sizes"][n]["same_bytes"].get(name, True))
            for n, page in zip(sizes, pages, strict=True)
        ]
        same_text = " / ".join(
            "–" if ratio is None else f"{ratio:.2f}" + ("" if ok else " (bytes differ)") for ratio, ok in same
        )
        same_ok = all(ratio is None or (ok and ratio >= FLOOR_TARGET) for ratio, ok in same)
        best = [ratio(page, "best") for page in pages]
        best_text = "–" if all(b is None for b in best) else " / ".join("–" if b is None else f"{b:.2f}" for b in best)
        tail = max(page["p99_ms"] / page["p50_ms"] for page in pages)
        statements = {report["sizes"][n]["statements"].get(name) for n in sizes}
        statements_text = (
            "–" if statements == {None} else " / ".join(str(report["sizes"][n]["statements"][name]) for n in sizes)
        )
        p50s = " / ".join(f"{page['p50_ms']:.1f}" for page in pages)
        lines.append(
            f"| {name} | {p50s} | "
            f"{growth:.2f} {_mark(growth <= GROWTH_TARGET)} | "
            f"{same_text}{'' if all(r is None for r, _ in same) else ' ' + _mark(same_ok)} | {best_text} | "
            f"{tail:.1f} {_mark(tail <= TAIL_TARGET)} | {statements_text} |"
        )
    lines += [
        "",
        f"- Targets: p50 {sizes[-1]:,} ÷ {sizes[0]:,} ≤ {GROWTH_TARGET}, × same-page ≥ {FLOOR_TARGET} at every size, "
        f"p99/p50 ≤ {TAIL_TARGET:g} at {report['connections']} connections; Flask's one-route hello served "
        + ", ".join(f"{report['sizes'][n]['hello']['rps']:,.0f}" for n in sizes)
        + " req/s (at each size in turn).",
    ]
    same_counts = all(report["sizes"][n]["statements"] == small["statements"] for n in sizes)
    lines.append(f"- SQL statements per page equal at every size: {'yes ✓' if same_counts else 'no ✗'}")
    if "mail" in report:
        lines.append(mail_line(report["mail"]))
    memory = ", ".join(f"{report['sizes'][n]['worker_peak_kib'] / 1024:.0f} MiB at {n:,}" for n in sizes)
    lines.append(f"- Peak memory of a refportal worker: {memory}")
    return lines


def mail_line(mail: dict) -> str:
    runs = mail["runs"]
    ratios = ", ".join(f"{run['ratio']:.2f}×" for run in runs)
    passed = sum(run["ratio"] >= MAIL_TARGET for run in runs)
    return (
        f"- Mail: {mail['messages']:,} messages, {len(runs)} runs (each the median of {mail['rounds']} alternating "
        f"rounds), smtplib's time ÷ refportal's sender's: {ratios} (target ≥ {MAIL_TARGET} in every run: "
        f"{passed} of {len(runs)} {_mark(passed == len(runs))})"
    )


def detail_table(report: dict) -> list[str]:
    """Each page at each size: req/s and latencies of refportal and its floors, × hello."""
    sizes = sorted(report["sizes"])
    lines = [
        "| page | size | req/s | p50 ms | p99 ms | same-page floor req/s | best-query floor req/s | × hello |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in report["sizes"][sizes[0]]["pages"]:
        for n in sizes:
            entry = report["sizes"][n]
            page = entry["pages"][name]
            floor = f"{page['floor']['rps']:.0f}" if "floor" in page else "–"
            best = f"{page['best']['rps']:.0f}" if "best" in page else "–"
            lines.append(
                f"| {name} | {n:,} | {page['rps']:.0f} | {page['p50_ms']:.1f} | {page['p99_ms']:.1f} | {floor} | "
                f"{best} | {page['rps'] / entry['hello']['rps']:.2f} |"
            )
    return lines


def readme_summary(report: dict) -> str:
    """The README's figures on performance, from the same results (never typed by hand)."""
    sizes = sorted(report["sizes"])
    small, large = report["sizes"][sizes[0]], report["sizes"][sizes[-1]]
    lines = [
        f"Measured by `make bench` on {report['date']} ({report['machine']}; 16 connections, 2 gunicorn workers):",
        "",
        f"| page | p50 at {sizes[-1]:,} applications | ÷ p50 at {sizes[0]:,} | SQL statements |",
        "|---|---|---|---|",
    ]
    for name in small["pages"]:
        if name in large["pages"]:
            page = large["pages"][name]
            lines.append(
                f"| {name} | {page['p50_ms']:.0f} ms | {page['p50_ms'] / small['pages'][name]['p50_ms']:.2f} | "
                f"{large['statements'].get(name, '–')} |"
            )
    if "mail" in report:
        ratios = ", ".join(f"{run['ratio']:.2f}×" for run in report["mail"]["runs"])
        lines += ["", f"The mail sender's throughput against plain smtplib's, in three runs: {ratios}."]
    return "\n".join(lines)


def replace_between(path: Path, marker: str, text: str) -> None:
    content = path.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start in content:
        content = content[: content.index(start) + len(start)] + "\n" + text + "\n" + content[content.index(end) :]
        path.write_text(content)


FRONTS = (
    ("gunicorn", "refportal direct"),
    ("nginx", "through nginx, cache off"),
    ("cached", "through nginx's cache (a HIT)"),
    ("304 cached", "repeat with If-None-Match, nginx's cache: 304"),
    ("304 gunicorn", "repeat with If-None-Match, refportal direct: 304"),
)


def fronts_table(report: dict) -> list[str]:
    """The registry's anonymous pages, req/s (p50 ms) each way of bench/nginx_front.py, at each size."""
    sizes = [n for n in sorted(report["sizes"]) if report["sizes"][n].get("registry_fronts")]
    if not sizes:
        return []
    lines = [
        "The registry's anonymous pages through nginx (deploy/nginx/refportal.conf's proxy and cache "
        "directives, plain HTTP on loopback): req/s (p50 ms)",
        "",
        "| page | size | " + " | ".join(label for _, label in FRONTS) + " |",
        "|---|---|" + "---|" * len(FRONTS),
    ]
    for name in report["sizes"][sizes[0]]["registry_fronts"]:
        for n in sizes:
            ways = report["sizes"][n]["registry_fronts"][name]
            cells = " | ".join(f"{ways[way]['rps']:,.0f} ({ways[way]['p50_ms']:.1f})" for way, _ in FRONTS)
            lines.append(f"| {name} | {n:,} | {cells} |")
    return lines


def results_markdown(report: dict) -> str:
    fronts = fronts_table(report)
    return "\n".join(
        [
            *summary_table(report),
            "",
            *([*fronts, ""] if fronts else []),
            "Each page at each size:",
            "",
            *detail_table(report),
        ]
    )
