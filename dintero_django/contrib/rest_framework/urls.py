from rest_framework.routers import SimpleRouter

from .views import OrderViewSet

app_name = "dintero_api"

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
