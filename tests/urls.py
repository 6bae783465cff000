from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dintero/", include("dintero_django.urls")),
    path("api/dintero/", include("dintero_django.contrib.rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
