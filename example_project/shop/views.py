from django.http import HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("dintero-django example shop: see /admin/ and /api/dintero/orders/")
