"""A form field for amounts typed in major units (kroner), cleaned to exact minor units (øre)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from .models import MAX_AMOUNT
from .money_format import MoneyInputError, format_money, parse_major


class MajorAmountField(forms.Field):
    """Typed ``125,50``, cleaned to ``12550``; ``None`` when left empty (if not required).

    The language's formatting is read when the form is cleaned, so one field
    object serves every clerk. ``limit`` (minor units) is the most that may be given.
    """

    widget = forms.TextInput

    def __init__(self, *, currency: str = "NOK", limit: int = MAX_AMOUNT, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", gettext_lazy("In kroner (or the order's currency), e.g. 125,50."))
        super().__init__(**kwargs)
        self.currency = currency
        self.limit = limit

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs: dict[str, Any] = super().widget_attrs(widget)
        # A number keyboard on phones; no type=number, whose parsing ignores the language.
        attrs.update({"inputmode": "decimal", "autocomplete": "off", "size": 12})
        return attrs

    def to_python(self, value: Any) -> int | None:
        text = "" if value is None else str(value)
        if not text.strip():
            return None
        try:
            minor = parse_major(text, self.currency)
        except MoneyInputError as error:
            raise forms.ValidationError(str(error), code="invalid") from None
        return minor

    def validate(self, value: int | None) -> None:
        super().validate(value)
        if value is None:
            return
        if value <= 0:
            raise forms.ValidationError(gettext("Enter an amount above zero."), code="min_value")
        if value > self.limit:
            raise forms.ValidationError(
                gettext("At most %(limit)s is left.") % {"limit": format_money(self.limit, self.currency)},
                code="max_value",
            )
