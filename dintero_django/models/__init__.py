from .callbacks import CallbackDelivery
from .flags import PaymentFlag
from .operations import Operation, new_reference
from .orders import MAX_AMOUNT, Order, OrderLine, PaymentsOverview, vat_of
from .payments import FAILED_STATUSES, PAID_STATUSES, PENDING_STATUSES, Payment, TransactionStatus
from .returns import ReturnVisit

__all__ = [
    "FAILED_STATUSES",
    "MAX_AMOUNT",
    "PAID_STATUSES",
    "PENDING_STATUSES",
    "CallbackDelivery",
    "Operation",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentFlag",
    "PaymentsOverview",
    "ReturnVisit",
    "TransactionStatus",
    "new_reference",
    "vat_of",
]
