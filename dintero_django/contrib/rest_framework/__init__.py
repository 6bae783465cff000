"""The storefront REST API (Django REST framework). Install the ``drf`` extra.

Include with ``path("api/dintero/", include("dintero_django.contrib.rest_framework.urls"))``.
"""
