"""Page routes of proxy organizations (included before the web app's catch-all pages)."""

from django.urls import path

from . import views

urlpatterns = [
    path("organization/<str:org>/proxy", views.proxy_page, name="proxy-settings"),
]
