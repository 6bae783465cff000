"""The staff form behind Capture / Refund: by line quantities, or by amount."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import MAX_AMOUNT, Operation
from .services.balances import LineBalance


class MoneyOperationForm(forms.Form):
    """Choose line quantities, or give an amount in minor units (not both)."""

    amount = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_AMOUNT,
        help_text="Minor units (øre/cents). Leave empty when choosing lines.",
    )
    reason = forms.CharField(required=False, max_length=255)

    def __init__(self, *args: Any, kind: str, balances: list[LineBalance], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.balances = balances
        if kind == Operation.Kind.REFUND:
            self.fields["reason"].required = True
        else:
            del self.fields["reason"]
        for balance in balances:
            room = balance.capturable if kind == Operation.Kind.CAPTURE else balance.refundable
            self.fields[f"qty_{balance.line.line_id}"] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=room // balance.line.unit_amount if balance.line.unit_amount else 0,
                label=balance.line.description,
            )
        amount = self.fields["amount"]
        assert isinstance(amount, forms.IntegerField)
        amount.max_value = self.limit
        amount.widget.attrs["max"] = self.limit

    @property
    def limit(self) -> int:
        if self.kind == Operation.Kind.CAPTURE:
            return sum(balance.capturable for balance in self.balances)
        return sum(balance.refundable for balance in self.balances)

    def quantity_fields(self) -> list[tuple[LineBalance, forms.BoundField]]:
        return [(b, self[f"qty_{b.line.line_id}"]) for b in self.balances]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        quantities = {
            b.line.line_id: data.get(f"qty_{b.line.line_id}") or 0
            for b in self.balances
            if data.get(f"qty_{b.line.line_id}")
        }
        amount = data.get("amount")
        if quantities and amount:
            raise forms.ValidationError("Choose line quantities or an amount, not both.")
        if not quantities and not amount:
            raise forms.ValidationError("Choose line quantities or give an amount.")
        if amount and amount > self.limit:
            self.add_error("amount", f"At most {self.limit} is left.")
        data["quantities"] = quantities
        return data
