from django.urls import path
from rest_framework.routers import SimpleRouter

from .staff import CancelView, CaptureView, RefundView
from .views import OrderViewSet

app_name = "dintero_api"

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [
    *router.urls,
    path("staff/orders/<uuid:public_id>/capture/", CaptureView.as_view(), name="staff-capture"),
    path("staff/orders/<uuid:public_id>/refund/", RefundView.as_view(), name="staff-refund"),
    path("staff/orders/<uuid:public_id>/cancel/", CancelView.as_view(), name="staff-cancel"),
]
