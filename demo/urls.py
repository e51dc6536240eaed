from django.urls import include, path

from demo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("account/sessions/", include("pynamo_sessions.urls")),
]
