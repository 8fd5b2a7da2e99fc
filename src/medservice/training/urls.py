from medservice.training import views_documents, views_knowledge, views_people, views_sessions

app_name = "training"
urlpatterns = [
    *views_sessions.urlpatterns,
    *views_people.urlpatterns,
    *views_knowledge.urlpatterns,
    *views_documents.urlpatterns,
]
