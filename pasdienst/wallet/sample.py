"""The sample scheme (the CONTRACT.md example) as TOML text.

One source for the demo, the tests and the benchmarks, so a change to the
scheme format is made once. It returns text rather than a parsed spec because
its users load it the way an operator would (``load_scheme``, the admin page),
and some tests edit the text to make it invalid.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The demo's budgets: sport and culture, and school costs.
DEFAULT_BUDGETS: Mapping[str, str] = {"sport_culture": "150.00", "school": "50.00"}


def sample_scheme(
    code: str,
    year: int,
    *,
    budgets: Mapping[str, str] = DEFAULT_BUDGETS,
    ages: tuple[int, int] = (4, 17),
    income_limit_pct: int = 120,
    sliding_scale: Sequence[tuple[int, float]] = ((130, 0.5),),
    strips: int | None = 10,
    strip_value: str = "4.50",
    cheque: str | None = "75.00",
    cheque_ages: tuple[int, int] = (0, 17),
) -> str:
    """A scheme for municipality ``code`` valid the whole of ``year``.

    :param budgets: kinderpas balance per category (euro strings), for ``ages``.
    :param ages: inclusive ages of the budgets and the ``zwemmen`` punch card.
    :param income_limit_pct: full entitlement up to this income percentage.
    :param sliding_scale: ``(up_to_pct, share)`` bands above the limit; empty for none.
    :param strips: strips on the ``zwemmen`` punch card; ``None`` leaves it out.
    :param strip_value: euro value of one strip.
    :param cheque: amount of the ``fashioncheque`` (clothing); ``None`` leaves it out.
    :param cheque_ages: inclusive ages of the cheque.
    """
    lines = [
        f'municipality = "{code}"',
        f"year = {year}",
        f'valid_from = "{year}-01-01"',
        f'valid_until = "{year}-12-31"',
        f"income_limit_pct = {income_limit_pct}",
    ]
    if sliding_scale:
        bands = ", ".join(f"{{ up_to_pct = {pct}, share = {share} }}" for pct, share in sliding_scale)
        lines.append(f"sliding_scale = [{bands}]")
    for category, amount in budgets.items():
        lines += ["", "[[budget]]", f'category = "{category}"', f'amount = "{amount}"', f"ages = {_ages(ages)}"]
    if strips is not None:
        lines += [
            "", "[[punchcard]]", 'code = "zwemmen"', 'category = "sport_culture"',
            f"strips = {strips}", f'strip_value = "{strip_value}"', f"ages = {_ages(ages)}",
        ]
    if cheque is not None:
        lines += [
            "", "[[cheque]]", 'code = "fashioncheque"', 'category = "clothing"',
            f'amount = "{cheque}"', f"ages = {_ages(cheque_ages)}",
        ]
    return "\n".join(lines) + "\n"


def _ages(ages: tuple[int, int]) -> str:
    return f"[{ages[0]}, {ages[1]}]"
