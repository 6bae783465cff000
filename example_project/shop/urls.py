from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("", views.product_list, name="products"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/<slug:slug>/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("cart/clear/", views.cart_clear, name="cart-clear"),
    path("checkout/", views.checkout, name="checkout"),
    path("order/<uuid:public_id>/", views.order_detail, name="order"),
    path("pay/<uuid:public_id>/", views.pay, name="pay"),
]
