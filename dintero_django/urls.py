"""Include with ``path("dintero/", include("dintero_django.urls"))``."""

from django.urls import path

from . import views

app_name = "dintero_django"

urlpatterns = [
    path("callback/", views.callback, name="callback"),
    path("return/", views.return_view, name="return"),
    path("result/<uuid:public_id>/", views.result, name="result"),
]
