"""The staff form behind Capture / Refund: by line quantities, or by an amount typed in major units."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .exceptions import PaymentError
from .models import Operation
from .money_fields import MajorAmountField
from .money_format import format_money
from .payment_products import needs_whole_lines, whole_lines_message
from .services.balances import LineBalance, items_for, units_left, whole_quantity


def _one_of(allowed: set[int], payment_product_type: str) -> Any:
    def check(value: int | None) -> None:
        if value is not None and value not in allowed:
            raise forms.ValidationError(whole_lines_message(payment_product_type))

    return check


class MoneyOperationForm(forms.Form):
    """Choose line quantities, or type an amount in major units (not both); cleaned to minor units.

    For payment products that take whole lines (Instabank, Collector) a line offers only
    0 or all of its quantity that is left, and an amount must be everything that is left.
    """

    amount = MajorAmountField(
        required=False,
        help_text=gettext_lazy(
            "In the order's currency, as you would write it (125,50). Leave empty when choosing lines."
        ),
    )
    reason = forms.CharField(required=False, max_length=255)

    def __init__(
        self,
        *args: Any,
        kind: str,
        balances: list[LineBalance],
        currency: str,
        payment_product_type: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.balances = balances
        self.currency = currency
        self.payment_product_type = payment_product_type
        self.whole_lines = needs_whole_lines(payment_product_type)
        if kind == Operation.Kind.REFUND:
            self.fields["reason"].required = True
        else:
            del self.fields["reason"]
        for balance in balances:
            self.fields[f"qty_{balance.line.line_id}"] = self._quantity_field(balance)
        amount = self.fields["amount"]
        assert isinstance(amount, MajorAmountField)
        amount.currency, amount.limit = currency, self.limit
        if self.whole_lines:
            amount.help_text = _("Only the whole amount left (%(limit)s); otherwise choose lines.") % {
                "limit": format_money(self.limit, currency)
            }

    def _quantity_field(self, balance: LineBalance) -> forms.Field:
        if self.whole_lines:
            whole = whole_quantity(balance, self.kind)
            choices = [(0, "0")] + ([(whole, str(whole))] if whole else [])
            return forms.IntegerField(
                required=False,
                widget=forms.Select(choices=choices),
                validators=[_one_of({0, whole}, self.payment_product_type)],
                label=balance.line.description,
            )
        return forms.IntegerField(
            required=False,
            min_value=0,
            max_value=units_left(balance, self.kind),  # exact with discounts (discounts.py)
            label=balance.line.description,
        )

    @property
    def limit(self) -> int:
        if self.kind == Operation.Kind.CAPTURE:
            return sum(balance.capturable for balance in self.balances)
        return sum(balance.refundable for balance in self.balances)

    def total(self) -> int:
        """Minor units the cleaned form asks for, as the money service will count them."""
        quantities = self.cleaned_data["quantities"]
        if not quantities:
            return int(self.cleaned_data["amount"])
        items = items_for(self.balances, self.kind, amount=None, quantities=quantities)
        return sum(int(item["amount"]) for item in items)

    def quantity_fields(self) -> list[tuple[LineBalance, forms.BoundField]]:
        return [(b, self[f"qty_{b.line.line_id}"]) for b in self.balances]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # 0 (or empty) means "not this line": it never becomes a line of 0.
        quantities = {
            b.line.line_id: data[f"qty_{b.line.line_id}"]
            for b in self.balances
            if (data.get(f"qty_{b.line.line_id}") or 0) > 0
        }
        amount = data.get("amount")
        if quantities and amount:
            raise forms.ValidationError(_("Choose line quantities or an amount, not both."))
        if not quantities and not amount and not self.has_error("amount"):
            raise forms.ValidationError(_("Choose line quantities or give an amount."))
        if amount and self.whole_lines and amount != self.limit:
            self.add_error("amount", whole_lines_message(self.payment_product_type))
        if quantities:
            try:  # the service's own check of each line, said on the form
                items_for(self.balances, self.kind, amount=None, quantities=quantities)
            except PaymentError as error:
                raise forms.ValidationError(str(error)) from None
        data["quantities"] = quantities
        return data
