from rest_framework.routers import DefaultRouter

from medservice.training.api import documents, knowledge, people, sessions


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    sessions.register(router)
    people.register(router)
    knowledge.register(router)
    documents.register(router)
