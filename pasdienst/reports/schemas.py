"""What the usage API takes and gives (marshmallow; also the OpenAPI document)."""
from __future__ import annotations

import marshmallow as ma

from .usage import CSV_TABLES, SUPPRESSED, USAGE_BANDS, YEAR_MAX, YEAR_MIN

_HIDDEN = {"type": "string", "enum": [SUPPRESSED]}


# The exact report's counts and shares are typed as plain fields: the
# publication version overrides them with fields that may also say "<5".
def _children(description: str) -> ma.fields.Field[int]:
    """An exact count of children (the municipality's own staff see 0 as 0)."""
    return ma.fields.Integer(required=True, metadata={"description": description, "minimum": 0})


def _share(description: str) -> ma.fields.Field[float]:
    return ma.fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": f"{description}, 0 to 1 with four decimals; null when nobody holds one", "minimum": 0, "maximum": 1},
    )


def _hidden_children(description: str) -> ma.fields.Raw:
    """A published count of children: a number, or "<5" when it is below five."""
    return ma.fields.Raw(
        required=True,
        metadata={
            "description": f'{description}; "{SUPPRESSED}" when fewer than five children, or when it would give '
            "such a count away (a part whose total minus it is under five, or a cell the others add up to)",
            "oneOf": [{"type": "integer", "minimum": 0}, _HIDDEN],
        },
    )


def _hidden_share(description: str) -> ma.fields.Raw:
    return ma.fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "description": f'{description}, 0 to 1 with four decimals; "{SUPPRESSED}" when it rests on a hidden count',
            "oneOf": [{"type": "number", "minimum": 0, "maximum": 1}, _HIDDEN],
            "nullable": True,
        },
    )


class UsageQuery(ma.Schema):
    year = ma.fields.Integer(
        required=True, strict=False, validate=ma.validate.Range(min=YEAR_MIN, max=YEAR_MAX),
        metadata={"description": "The pass year, e.g. 2027"},
    )


class UsageCsvQuery(UsageQuery):
    table = ma.fields.String(
        load_default="summary", validate=ma.validate.OneOf(CSV_TABLES),
        metadata={"description": "Which table: " + ", ".join(CSV_TABLES)},
    )


class CategoryUsageSchema(ma.Schema):
    category = ma.fields.String()
    children_awarded = _children("Children holding a voucher of this category")
    children_with_redemption = _children("Children who spent from one")
    usage_share = _share("children_with_redemption / children_awarded")
    redemptions = ma.fields.Integer(metadata={"description": "Redemptions that count (not voided, not taken back by a correction)"})
    awarded_cents = ma.fields.Integer(metadata={"description": "Net issued onto these vouchers"})
    spent_cents = ma.fields.Integer()
    expired_cents = ma.fields.Integer(metadata={"description": "Returned to the fund at year end"})
    outstanding_cents = ma.fields.Integer(metadata={"description": "Still on the vouchers"})


class AgeBandUsageSchema(ma.Schema):
    band = ma.fields.String(metadata={"description": '"0-3", "4-11", "12-17"; "other" only when it has children'})
    min_age = ma.fields.Integer(allow_none=True)
    max_age = ma.fields.Integer(allow_none=True)
    eligible_children = _children("Children with a pass, by age on the scheme's valid_from")
    children_with_redemption = _children("Of them, children with a redemption")
    usage_share = _share("children_with_redemption / eligible_children")


class MonthUsageSchema(ma.Schema):
    month = ma.fields.String(metadata={"description": "YYYY-MM, Europe/Amsterdam"})
    redemptions = ma.fields.Integer()
    spent_cents = ma.fields.Integer()
    children_with_redemption = _children("Distinct children paying that month")


class MoneySchema(ma.Schema):
    awarded_cents = ma.fields.Integer()
    spent_cents = ma.fields.Integer()
    expired_cents = ma.fields.Integer()
    outstanding_cents = ma.fields.Integer()


class MerchantUsageSchema(ma.Schema):
    merchant_id = ma.fields.Integer()
    name = ma.fields.String()
    redemptions = ma.fields.Integer()
    spent_cents = ma.fields.Integer()
    children_with_redemption = _children("Distinct children paying there")


class WeekUsageSchema(ma.Schema):
    week = ma.fields.String(metadata={"description": "ISO week of its first day, e.g. 2027-W36 (Europe/Amsterdam)"})
    starts = ma.fields.String(metadata={"description": "Its first day, YYYY-MM-DD (the first week starts at valid_from)"})
    redemptions = ma.fields.Integer()
    spent_cents = ma.fields.Integer()
    children_with_redemption = _children("Distinct children paying that week")
    new_children = _children("Children paying for the first time that year")
    reached_children = _children("Children who paid at least once up to the end of that week")
    reached_share = _share("reached_children / eligible_children")


class DistrictUsageSchema(ma.Schema):
    district = ma.fields.String(metadata={"description": 'The four digits of the postcode area, or "unknown"'})
    eligible_children = _children("Children with a pass living there")
    children_with_redemption = _children("Of them, children with a redemption")
    usage_share = _share("children_with_redemption / eligible_children")
    redemptions = ma.fields.Integer()
    spent_cents = ma.fields.Integer()


class ReminderUsageSchema(ma.Schema):
    moment_id = ma.fields.Integer()
    title = ma.fields.String()
    send_on = ma.fields.String(metadata={"description": "The planned day, YYYY-MM-DD"})
    sent_at = ma.fields.String(metadata={"description": "When its first e-mail went out (ISO 8601, UTC)"})
    households = _children("Households (e-mails) reached")
    children = _children("Children named in those e-mails")
    households_used = _children("Of those households, those with a redemption within window_weeks after the e-mail")
    children_used = _children("Of those children, those with a redemption within window_weeks after the e-mail")
    share_used = _share("households_used / households")
    window_weeks = ma.fields.Integer()
    window_closed = ma.fields.Boolean(metadata={"description": "Whether the weeks counted are over (until then the figure can grow)"})


class MaatwerkUsageSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": ["team", "fund"], "description": "A gebiedsteam or a fund"})
    name = ma.fields.String()
    awards: ma.fields.Field[int] = ma.fields.Integer(metadata={"description": "Awards made in the year, withdrawn ones included"})
    awarded_cents = ma.fields.Integer(metadata={"description": "What the awards hold: amounts less what withdrawals returned"})
    spent_cents = ma.fields.Integer(metadata={"description": "Spent from the awards (redemptions that count)"})


class UsageSchema(ma.Schema):
    """The usage report of one municipality and pass year, exact: the
    municipality's own figures for its own staff."""

    municipality = ma.fields.String()
    year = ma.fields.Integer()
    eligible_children = _children("Distinct children holding a pass for the year")
    children_with_redemption = _children("Distinct children with at least one redemption that counts (not voided, not corrected)")
    usage_share = _share("children_with_redemption / eligible_children")
    usage_band = ma.fields.String(
        allow_none=True,
        metadata={"enum": list(USAGE_BANDS), "description": "B16 usage band in %; null when nobody holds a pass"},
    )
    by_category = ma.fields.List(ma.fields.Nested(CategoryUsageSchema))
    by_age_band = ma.fields.List(ma.fields.Nested(AgeBandUsageSchema))
    by_month = ma.fields.List(ma.fields.Nested(MonthUsageSchema))
    money = ma.fields.Nested(MoneySchema)
    by_merchant = ma.fields.List(ma.fields.Nested(MerchantUsageSchema))
    by_week = ma.fields.List(ma.fields.Nested(WeekUsageSchema), metadata={"description": "Reach over time, week by week"})
    by_district = ma.fields.List(ma.fields.Nested(DistrictUsageSchema), metadata={"description": "Per postcode area"})
    reminders = ma.fields.List(
        ma.fields.Nested(ReminderUsageSchema),
        metadata={"description": "Per reminder moment: families reached by e-mail, and who used the pass afterwards"},
    )
    maatwerk = ma.fields.List(
        ma.fields.Nested(MaatwerkUsageSchema),
        metadata={"description": "Per gebiedsteam and fund: awards of specific amounts for specific purposes"},
    )


# -- the publication version: small cells hidden ------------------------------------

class PublicationSchema(ma.Schema):
    min_children = ma.fields.Integer(required=True, metadata={"description": "Counts of children below this are hidden"})
    note = ma.fields.String(required=True, metadata={"description": "Why some figures read \"<5\" (Dutch), to publish with them"})


class PublishedCategoryUsageSchema(CategoryUsageSchema):
    children_awarded = _hidden_children("Children holding a voucher of this category")
    children_with_redemption = _hidden_children("Children who spent from one")
    usage_share = _hidden_share("children_with_redemption / children_awarded")


class PublishedAgeBandUsageSchema(AgeBandUsageSchema):
    eligible_children = _hidden_children("Children with a pass, by age on the scheme's valid_from")
    children_with_redemption = _hidden_children("Of them, children with a redemption")
    usage_share = _hidden_share("children_with_redemption / eligible_children")


class PublishedMonthUsageSchema(MonthUsageSchema):
    children_with_redemption = _hidden_children("Distinct children paying that month")


class PublishedMerchantUsageSchema(MerchantUsageSchema):
    children_with_redemption = _hidden_children("Distinct children paying there")


class PublishedWeekUsageSchema(WeekUsageSchema):
    class Meta:
        exclude = ("new_children",)

    children_with_redemption = _hidden_children("Distinct children paying that week")
    reached_children = _hidden_children(
        "Children reached up to that week; also hidden when it grew by fewer than five since the last value shown"
    )
    reached_share = _hidden_share("reached_children / eligible_children")


class PublishedDistrictUsageSchema(DistrictUsageSchema):
    eligible_children = _hidden_children("Children with a pass living there")
    children_with_redemption = _hidden_children("Of them, children with a redemption")
    usage_share = _hidden_share("children_with_redemption / eligible_children")


class PublishedReminderUsageSchema(ReminderUsageSchema):
    households = _hidden_children("Households (e-mails) reached")
    children = _hidden_children("Children named in those e-mails")
    households_used = _hidden_children("Of those households, those with a redemption afterwards")
    children_used = _hidden_children("Of those children, those with a redemption afterwards")
    share_used = _hidden_share("households_used / households")


class PublishedMaatwerkUsageSchema(MaatwerkUsageSchema):
    awards = _hidden_children("Awards made in the year (each a child's)")


class PublishedUsageSchema(UsageSchema):
    """The usage report as published outside the municipality: every count of
    fewer than five children, every count that would give one away (a part
    next to its total, a cell the others add up to), and every share resting
    on one, is "<5"."""

    publication = ma.fields.Nested(PublicationSchema, required=True)
    eligible_children = _hidden_children("Distinct children holding a pass for the year")
    children_with_redemption = _hidden_children("Distinct children with at least one redemption that counts")
    usage_share = _hidden_share("children_with_redemption / eligible_children")
    usage_band = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"enum": list(USAGE_BANDS), "description": "B16 usage band in %; null when the share is hidden"},
    )
    by_category = ma.fields.List(ma.fields.Nested(PublishedCategoryUsageSchema), required=True)
    by_age_band = ma.fields.List(ma.fields.Nested(PublishedAgeBandUsageSchema), required=True)
    by_month = ma.fields.List(ma.fields.Nested(PublishedMonthUsageSchema), required=True)
    by_merchant = ma.fields.List(ma.fields.Nested(PublishedMerchantUsageSchema), required=True)
    by_week = ma.fields.List(ma.fields.Nested(PublishedWeekUsageSchema), required=True)
    by_district = ma.fields.List(ma.fields.Nested(PublishedDistrictUsageSchema), required=True)
    reminders = ma.fields.List(ma.fields.Nested(PublishedReminderUsageSchema), required=True)
    maatwerk = ma.fields.List(ma.fields.Nested(PublishedMaatwerkUsageSchema), required=True)
