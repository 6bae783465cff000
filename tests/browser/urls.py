"""URLs of the browser tests: everything tests/urls.py serves, plus the demo shop."""

from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [*base_urlpatterns, path("", include("example_project.shop.urls"))]
