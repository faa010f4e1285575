app_name = "mous"

urlpatterns: list = []
