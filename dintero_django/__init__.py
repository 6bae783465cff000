"""Dintero Checkout and Order Management for Django."""

__version__ = "0.1.0"
