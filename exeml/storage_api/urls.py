from django.urls import path

from exeml.storage_api import views

app_name = "storage_api"

urlpatterns = [
    path("storage/browse", views.BrowseView.as_view(), name="browse"),
    path("storage/folders", views.FolderCreateView.as_view(), name="folders"),
    path("storage/objects", views.ObjectUploadView.as_view(), name="objects"),
]
