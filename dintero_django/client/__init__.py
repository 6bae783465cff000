"""HTTP clients for Dintero. They speak Dintero and return plain data; they know
nothing of models, views or tasks."""

from .base import ApiResponse, BaseClient, reset
from .checkout import CheckoutClient
from .orders import OrdersClient

__all__ = ["ApiResponse", "BaseClient", "CheckoutClient", "OrdersClient", "reset"]
